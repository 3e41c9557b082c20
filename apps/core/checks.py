import os

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secrets_come_from_environment(app_configs, **kwargs):
    """A generated development key under var/ must never reach production."""
    return [
        Error(f"{name} is not set in the environment.", hint=f"Set {name} for production.", id=f"qingka.E00{i}")
        for i, name in enumerate(("SECRET_KEY", "FIELD_ENCRYPTION_KEY"), start=1)
        if not os.environ.get(name)
    ]


@register(Tags.security, deploy=True)
def database_is_not_sqlite(app_configs, **kwargs):
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return [Error("SQLite is for the demo only.", hint="Set DATABASE_URL to PostgreSQL.", id="qingka.E003")]
    return []


@register(Tags.security, deploy=True)
def clock_is_real(app_configs, **kwargs):
    if settings.QINGKA_CLOCK:
        return [Error("QINGKA_CLOCK is set.", hint="A set clock is for demos and tests: unset it.", id="qingka.E004")]
    return []
