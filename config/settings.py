"""Settings come from the environment; every default is for development and the demo only."""

import datetime as dt
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import embedded_postgres
from config.log_config import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QINGKA_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def kept_secret(name, make):
    """A secret from the environment, or one generated once and kept under var/ (development only)."""
    if os.environ.get(name):
        return os.environ[name]
    path = VAR_DIR / name.lower()
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def new_fernet_key():
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


SECRET_KEY = kept_secret("SECRET_KEY", lambda: secrets.token_urlsafe(50))
FIELD_ENCRYPTION_KEY = kept_secret("FIELD_ENCRYPTION_KEY", new_fernet_key)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

# Production hardening, on unless DEBUG or explicitly relaxed for a plain-HTTP demo/test site.
SECURE_HTTPS = env_bool("SECURE_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if SECURE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
# A person who does nothing for SESSION_IDLE_SECONDS is signed out (apps/accounts/middleware.py:
# the dashboard's background polling is not doing something); a session never outlives a day.
SESSION_IDLE_SECONDS = int(os.environ.get("SESSION_IDLE_SECONDS", 30 * 60))
SESSION_COOKIE_AGE = 12 * 3600

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.filing_calendar",
    "apps.clients",
    "apps.devices",
    "apps.periods",
    "apps.jobs",
    "apps.agent_api",
    "apps.dashboard",
    "apps.sharing",
    "apps.status_pages",
    "apps.scheduling",
    "apps.holds",
    "apps.autopilot",
    "apps.notifications",
    "apps.attention",
    "apps.charts",
    "apps.reports",
    "apps.invoices",
    "apps.operations",
    "apps.demo",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",  # last, as its documentation asks
]

MIDDLEWARE = [
    "apps.core.health.HealthCheckMiddleware",  # first: /healthz needs no host check, HTTPS or login
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "apps.core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.middleware.VisibleTextMiddleware",  # after CommonMiddleware: a page is cleaned before its length is set
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "apps.accounts.middleware.IdleTimeoutMiddleware",
    "apps.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Each process keeps at most one connection per thread, reused for DB_CONN_MAX_AGE seconds and
# checked before reuse; a connection that cannot be made within DB_CONNECT_TIMEOUT seconds gives
# the 503 page (apps/core/middleware.py). The README's "Database connections" says how to size this.
# Without DATABASE_URL: the demo's embedded PostgreSQL under var/pg (config/embedded_postgres.py),
# which `manage.py demo` starts; `check --deploy` refuses it (qingka.E003).
EMBEDDED_DATABASE = not os.environ.get("DATABASE_URL")
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or embedded_postgres.database_url(VAR_DIR),
        # A connection is kept for a minute per process: sync gunicorn workers, the rq worker and
        # the sweeper each hold at most one, so processes bound what PostgreSQL is asked for.
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", 60)),
        conn_health_checks=True,
    )
}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://…)")
DATABASES["default"].setdefault("OPTIONS", {}).update(
    connect_timeout=int(os.environ.get("DB_CONNECT_TIMEOUT", 5)),
    # No JIT: the status expression makes the planner's cost of the dashboard's query look huge,
    # so PostgreSQL compiled it for 2.5 s to run it in 40 ms (benchmarks/dashboard.py, 5,000 clients).
    options="-c jit=off",
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Failed logins: AXES_FAILURE_LIMIT from one client address, whatever names it tried, lock that
# address out (every name from it) for AXES_COOLOFF_TIME; the lockout and its end go to the audit log
# (apps/accounts/signals.py). Never a user name alone: with "username" among the parameters, five
# guesses from one address at the admin's name locked the admin out from everywhere (issue 27). The
# address is apps.audit.log.client_ip's: behind BEHIND_PROXY, the trusted X-Forwarded-For entry.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", 5))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15)))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "apps.audit.log.client_ip"
# Trusted proxies in front of the site, each appending to X-Forwarded-For; the client address of
# the lockout and the audit log is the entry that many from the right (apps/audit/log.client_ip).
QINGKA_PROXY_HOPS = int(os.environ.get("PROXY_HOPS", 1 if env_bool("BEHIND_PROXY") else 0))
AXES_LOCKOUT_CALLABLE = "apps.accounts.views.locked_out"
AXES_VERBOSE = False
# Requests that send e-mail or make credentials: at most N per hour (apps/accounts/ratelimit.py).
QINGKA_PASSWORD_RESETS_PER_HOUR = int(os.environ.get("PASSWORD_RESETS_PER_HOUR", 5))
QINGKA_API_TOKENS_PER_HOUR = int(os.environ.get("API_TOKENS_PER_HOUR", 5))
OTP_TOTP_ISSUER = "清卡 Qingka"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "qingka@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# The site's rq and the agents' job messages never share credentials (docs/agent.md): in
# production REDIS_URL is the site's own user and database, CELERY_BROKER_URL the broker database,
# and each agent connects as its own Redis user limited to its queue (apps/devices/broker.py).
# `check --deploy` refuses a broker URL equal to REDIS_URL (qingka.E007).
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
# The connection that makes the agents' Redis users (ACL SETUSER); default CELERY_BROKER_URL.
QINGKA_BROKER_ADMIN_URL = os.environ.get("QINGKA_BROKER_ADMIN_URL", "")
# The broker's address as the agents reach it, for the URL shown when an agent is registered
# (e.g. redis://qingka.example.com:6379/0); default CELERY_BROKER_URL's host.
QINGKA_AGENT_BROKER_URL = os.environ.get("QINGKA_AGENT_BROKER_URL", "")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.api_errors.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "apps.core.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "清卡 Qingka API",
    "DESCRIPTION": "客户、税控设备、申报期与征期日历；前置机接口。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.api_errors.document_error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "DeviceKindEnum": "apps.devices.models.DeviceKind",
        "JobKindEnum": "apps.jobs.models.JobKind",
    },
}

# Device jobs
QINGKA_JOB_LEASE_SECONDS = int(os.environ.get("QINGKA_JOB_LEASE_SECONDS", 300))
QINGKA_AGENT_OFFLINE_SECONDS = int(os.environ.get("QINGKA_AGENT_OFFLINE_SECONDS", 30))
QINGKA_RETRY_BASE_SECONDS = float(os.environ.get("QINGKA_RETRY_BASE_SECONDS", 30))
QINGKA_RESEND_AFTER_SECONDS = int(os.environ.get("QINGKA_RESEND_AFTER_SECONDS", 60))
QINGKA_SWEEP_SECONDS = int(os.environ.get("QINGKA_SWEEP_SECONDS", 5))
# 自动清卡 makes one pass at most this often.
QINGKA_AUTOPILOT_SECONDS = int(os.environ.get("QINGKA_AUTOPILOT_SECONDS", 60))
# The site's address as people reach it, for the links in notifications.
QINGKA_SITE_URL = os.environ.get("QINGKA_SITE_URL", "http://127.0.0.1:8000")
# Notification channels (apps/notifications/safety.py): mail only to these addresses or domains,
# a generic json:// webhook only to these host:port entries; test sends per person and hour.
QINGKA_NOTIFY_MAIL_DOMAINS = [d for d in os.environ.get("NOTIFY_MAIL_DOMAINS", "").split(",") if d.strip()]
QINGKA_NOTIFY_WEBHOOK_HOSTS = [h for h in os.environ.get("NOTIFY_WEBHOOK_HOSTS", "").split(",") if h.strip()]
QINGKA_CHANNEL_TESTS_PER_HOUR = int(os.environ.get("CHANNEL_TESTS_PER_HOUR", 10))
# A set clock for demos and tests (apps/core/clock.py); empty in production.
QINGKA_CLOCK = os.environ.get("QINGKA_CLOCK", "")

# Content-Security-Policy: scripts and styles from this site only, no inline script anywhere.
# Inline style attributes stay allowed for the progress bars' widths.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# JSON lines unless DEBUG (config/log_config.py); gunicorn logs through the same formatter.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING = logging_config(LOG_FORMAT, os.environ.get("LOG_LEVEL", "INFO"))
