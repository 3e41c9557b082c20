import os

import pytest
from django.conf import settings


def _test_redis_url() -> str:
    """Tests own a Redis database and flush it; the site's default (db 0) is left alone. Under
    xdist each worker has its own (14, 13, …), so end-to-end tests in two workers never flush or
    read each other's queues."""
    base, _, db = os.environ.get("QINGKA_TEST_REDIS_URL", "redis://127.0.0.1:6379/14").rpartition("/")
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    return f"{base}/{int(db) - worker}"


TEST_REDIS_URL = _test_redis_url()


def pytest_configure(config):
    from apps.jobs.celery import app as celery_app

    # pytest-xdist's marker, known also when it is not loaded (-p no:xdist, --strict-markers)
    config.addinivalue_line("markers", "xdist_group(name): runs on one xdist worker with the others of its group")

    settings.REDIS_URL = settings.CELERY_BROKER_URL = TEST_REDIS_URL
    settings.RQ_QUEUES = {"default": {"URL": TEST_REDIS_URL, "DEFAULT_TIMEOUT": 600}}
    celery_app.conf.broker_url = TEST_REDIS_URL
    # Tests render templates without running collectstatic first.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Every test that touches the database does so on PostgreSQL."""
    vendor = settings.DATABASES["default"]["ENGINE"]
    assert vendor.endswith("postgresql"), f"tests run on PostgreSQL (set DATABASE_URL), not {vendor}"


@pytest.fixture
def published_deadlines(transactional_db):
    """The published 征期 tables, loaded again as their migrations load them. The flush after each
    transactional test empties every table, these too, so a later test in the same worker read
    estimates where the published dates stand (the live lane runs nothing but such tests)."""
    from importlib import import_module

    from django.apps import apps

    for migration in ("0002_official_tables", "0004_provisional_source_and_2024"):
        import_module(f"apps.filing_calendar.migrations.{migration}").load(apps, None)


@pytest.fixture
def users(db):
    from apps.accounts.models import User

    make = User.objects.create_user
    return {
        "admin": make("admin", password="pw-admin-1", role=User.Role.ADMIN, display_name="管理员甲"),
        "owner": make("accountant", password="pw-owner-1", role=User.Role.ACCOUNTANT, display_name="会计乙"),
        "colleague": make("colleague", password="pw-colleague-1", role=User.Role.ACCOUNTANT, display_name="会计丙"),
        "readonly": make("viewer", password="pw-viewer-1", role=User.Role.READONLY, display_name="只读丁"),
    }


@pytest.fixture
def api(users):
    """An API client sending an API token of the firm's admin."""
    from rest_framework.test import APIClient

    from tests.factories import make_api_key

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_api_key(users['admin'])}")
    return client


@pytest.fixture
def as_role(client, users):
    """as_role("owner") → the test client, logged in as that one of `users`."""

    def login(role):
        client.force_login(users[role])
        return client

    return login


@pytest.fixture
def nov10():
    """2026-11-10 in Shanghai: the working period is 2026-10, due 2026-11-16 (official table)."""
    from freezegun import freeze_time

    with freeze_time("2026-11-10 02:00:00") as frozen:
        yield frozen


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the site's default language: a request in English earlier in the same
    thread leaves English active (LocaleMiddleware does not switch back)."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def live_demo():
    """The live demo (tests/e2e/live_demo.py) that the tests marked SHARED_DEMO share: started on
    first use, stopped with Ctrl-C at the end of the session and checked to stop cleanly."""
    from tests.e2e.live_demo import SharedDemo, short_directory

    with short_directory() as base, SharedDemo(base) as demo:
        yield demo
        demo.stop_and_check()
