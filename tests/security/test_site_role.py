"""The audit table cannot be emptied by the site's own database role: docs/site-role.sql, run on
the test database, makes a role that owns nothing and may not TRUNCATE; the site works through
it, and TRUNCATE, DELETE and UPDATE of the audit log fail for it."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from apps.audit.models import AuditEvent

pytestmark = [pytest.mark.security]
SQL = Path(settings.BASE_DIR) / "docs" / "site-role.sql"

SITE_THROUGH_THE_ROLE = """
import django
from django.conf import settings
plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
settings.STORAGES = {**settings.STORAGES, "staticfiles": plain}
django.setup()
from django.test import Client
from apps.accounts.models import User
User.objects.create_user("role-admin", password="pw-role-admin-1", role=User.Role.ADMIN)
client = Client()
print("login", client.post("/accounts/login/", {"username": "role-admin", "password": "pw-role-admin-1"}).status_code)
print("dashboard", client.get("/").status_code)
body = {"name": "经由站点角色有限公司", "taxpayer_id": "91320100MA000001XX", "taxpayer_kind": "general"}
from tests.factories import credit_code
body["taxpayer_id"] = credit_code(424242)
print("client", client.post("/api/v1/clients/", body, content_type="application/json").status_code)
print("audit", client.get("/audit/").status_code)
print("logout", client.post("/accounts/logout/").status_code)
"""


def as_role(role, password, statement):
    database = settings.DATABASES["default"]
    with psycopg.connect(
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        dbname=database["NAME"],
        user=role,
        password=password,
        autocommit=True,
    ) as conn:
        conn.execute(statement)


@pytest.fixture
def site_role(transactional_db):
    role, password = f"qingka_site_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with connection.cursor() as cursor:
        cursor.execute(SQL.read_text().replace("qingka_site", role))
        cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [password])
    yield role, password
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")


def test_the_site_works_through_its_role_and_that_role_cannot_empty_the_audit_log(site_role, tmp_path):
    role, password = site_role
    database = settings.DATABASES["default"]
    url = (
        f"postgres://{role}:{password}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "SECURE_HTTPS": "0", "ALLOWED_HOSTS": "testserver"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "-c", SITE_THROUGH_THE_ROLE],
        cwd=settings.BASE_DIR,
        env={**env, "QINGKA_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == [
        "login", "302", "dashboard", "200", "client", "201", "audit", "200", "logout", "302",
    ], result.stdout + result.stderr[-3000:]  # fmt: skip
    events = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"account.logged_in", "client.created", "account.logged_out"} <= events
    before = AuditEvent.objects.count()
    for statement in (
        "TRUNCATE audit_auditevent",
        "TRUNCATE audit_auditevent CASCADE",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_auditevent SET action = 'x'",
        "TRUNCATE clients_client CASCADE",
        "DROP TABLE audit_auditevent",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(role, password, statement)
    assert AuditEvent.objects.count() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = %s", [role]
        )
        assert cursor.fetchone()[0] == 0  # owns nothing
