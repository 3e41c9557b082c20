"""Backup and restore as the README says (pg_dump -Fc, pg_restore), then `manage.py check_restore`
on the restored database: it passes, and each kind of broken restore makes it fail."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.conf import settings
from django.db import connection

from apps.audit import log
from apps.core.fields import EncryptedTextField
from tests.e2e.conftest import database_url
from tests.e2e.processes import ROOT
from tests.factories import make_agent, make_client, make_device

pytestmark = pytest.mark.integration


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], check=True)


@pytest.fixture
def restored(transactional_db, tmp_path):
    """A copy of the test database made with pg_dump and pg_restore; its URL."""
    client = make_client()
    device = make_device(client=client, certificate_password="12345678", device_password="88888888")
    make_agent("备份柜")
    log.record("device.updated", device, client=client)
    dump = tmp_path / "qingka.dump"
    source = database_url()
    subprocess.run(["pg_dump", "-Fc", "-d", source, "-f", str(dump)], check=True)
    name = f"{connection.settings_dict['NAME']}_restored"
    server = source.rsplit("/", 1)[0]
    psql(f"{server}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f"{server}/postgres", f'CREATE DATABASE "{name}"')
    subprocess.run(["pg_restore", "--no-owner", "-d", f"{server}/{name}", str(dump)], check=True)
    yield f"{server}/{name}"
    psql(f"{server}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_restore(url, key=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "FIELD_ENCRYPTION_KEY": key or settings.FIELD_ENCRYPTION_KEY}
    return subprocess.run(
        [sys.executable, "manage.py", "check_restore"], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_a_whole_restore_passes(restored):
    result = check_restore(restored)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and all(line.startswith("✓") for line in lines)
    assert "clients.Client 1, devices.Device 1" in result.stdout and "audit.AuditEvent 1" in result.stdout
    encrypted = [f for m in apps.get_models() for f in m._meta.fields if isinstance(f, EncryptedTextField)]
    assert len(encrypted) >= 4  # the agent's signing key, the device's passwords, a channel's URL
    assert f"({len(encrypted)} checked)" in result.stdout


@pytest.mark.parametrize(
    "damage, expected",
    [
        ("DELETE FROM django_migrations WHERE app = 'jobs'", "migration(s) not applied"),
        ("DROP TRIGGER audit_event_append_only ON audit_auditevent", "trigger audit_event_append_only is missing"),
        (
            "SELECT setval('clients_client_id_seq', 1, false)",
            "sequences behind their tables' ids: clients_client_id_seq",
        ),
    ],
)
def test_a_broken_restore_fails_naming_what_is_wrong(restored, damage, expected):
    psql(restored, damage)
    result = check_restore(restored)
    assert result.returncode == 1
    assert expected in result.stdout, result.stdout


def test_another_encryption_key_fails(restored):
    result = check_restore(restored, key=Fernet.generate_key().decode())
    assert result.returncode == 1
    assert "does not decrypt: FIELD_ENCRYPTION_KEY is not the backup's" in result.stdout
