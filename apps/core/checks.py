import os

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, register

from .fields import field_keys


@register(Tags.security, deploy=True)
def secrets_come_from_environment(app_configs, **kwargs):
    """A generated development key under var/ must never reach production."""
    return [
        Error(f"{name} is not set in the environment.", hint=f"Set {name} for production.", id=f"qingka.E00{i}")
        for i, name in enumerate(("SECRET_KEY", "FIELD_ENCRYPTION_KEY"), start=1)
        if not os.environ.get(name)
    ]


@register(Tags.security, deploy=True)
def database_is_set(app_configs, **kwargs):
    """Only PostgreSQL, and never the demo's embedded server (the default without DATABASE_URL)."""
    if settings.EMBEDDED_DATABASE or not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return [
            Error(
                "DATABASE_URL is not set: the demo's embedded PostgreSQL is for the demo only.",
                hint="Set DATABASE_URL to the site's PostgreSQL database.",
                id="qingka.E003",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def clock_is_real(app_configs, **kwargs):
    if settings.QINGKA_CLOCK:
        return [Error("QINGKA_CLOCK is set.", hint="A set clock is for demos and tests: unset it.", id="qingka.E004")]
    return []


@register(Tags.security, deploy=True)
def email_is_sent(app_configs, **kwargs):
    """Password-reset mail printed to a console reaches nobody."""
    if settings.EMAIL_BACKEND in (
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    ):
        return [
            Error(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: no mail leaves the site.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST etc.",
                id="qingka.E005",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def field_key_is_valid(app_configs, **kwargs):
    """Every FIELD_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64 bytes), or no secret
    can be read or written."""
    keys = field_keys(settings.FIELD_ENCRYPTION_KEY)
    bad = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            bad.append(position)
    if not keys or bad:
        return [
            Error(
                "FIELD_ENCRYPTION_KEY is not a valid Fernet key"
                + (f" (key {', '.join(map(str, bad))} of {len(keys)})." if bad else "."),
                hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
                id="qingka.E006",
            )
        ]
    return []


def _redis_place(url: str) -> tuple:
    """Where a Redis URL points: host, port and database (user and password aside)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    db = (parts.path or "/0").strip("/").split("/")[0] or "0"
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or 6379, db)


@register(Tags.security, deploy=True)
def broker_is_not_rq(app_configs, **kwargs):
    """Agents hold broker credentials; the site's rq worker runs whatever its queue holds. The two
    never share a URL (docs/agent.md)."""
    if settings.CELERY_BROKER_URL == settings.REDIS_URL or _redis_place(settings.CELERY_BROKER_URL) == _redis_place(
        settings.REDIS_URL
    ):
        return [
            Error(
                "CELERY_BROKER_URL is the site's rq Redis (REDIS_URL).",
                hint="Give rq its own database and user (REDIS_URL=redis://qingka:…@redis:6379/1) and the "
                "broker another (CELERY_BROKER_URL=…/0); each agent connects as its own user (docs/agent.md).",
                id="qingka.E007",
            )
        ]
    return []
