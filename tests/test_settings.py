import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def production_like_environment():
    """This process's environment less what only tests set (the browser tests allow async ORM use)."""
    return {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**production_like_environment(), **env},
    )


def test_check_deploy_is_clean_with_production_values(tmp_path):
    result = manage(
        "check",
        "--deploy",
        DEBUG="0",
        SECRET_KEY="x" * 20 + os.urandom(24).hex(),
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="qingka.example.com",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        DATABASE_URL=os.environ["DATABASE_URL"],
        # rq and the agents' broker apart, as compose sets them (E007 refuses one URL for both)
        REDIS_URL="redis://qingka:pw@redis:6379/1",
        CELERY_BROKER_URL="redis://qingka:pw@redis:6379/0",
        QINGKA_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_refuses_generated_secrets_and_the_embedded_database(tmp_path):
    env = {
        k: v
        for k, v in production_like_environment().items()
        if k not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DATABASE_URL")
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "DEBUG": "0", "QINGKA_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    for error in ("qingka.E001", "qingka.E002", "qingka.E003"):
        assert error in result.stderr
    assert (tmp_path / "secret_key").exists(), "a development secret is generated and kept under var/"


def test_without_database_url_a_command_says_the_embedded_server_is_not_running(tmp_path):
    env = {k: v for k, v in production_like_environment().items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "QINGKA_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "embedded PostgreSQL" in result.stderr and "make demo" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_only_postgresql(tmp_path):
    result = manage("check", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", QINGKA_VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and "must name a PostgreSQL database" in result.stderr
