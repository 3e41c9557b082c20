import datetime as dt
import os
import shutil

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from apps.core import clock
from apps.core.demo import DEMO_PASSWORD, STAFF, cabinet_path, seed
from apps.core.demo_stack import redis_answers, start_processes
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


class Command(BaseCommand):
    help = "Runs the demo: migrates, seeds demo data, and runs the site with its worker, sweeper and a simulated agent."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="prepare only, do not start anything")
        parser.add_argument("--today", help="run the whole demo as if it were 08:00 on this day (YYYY-MM-DD)")
        parser.add_argument("--now", help="run the whole demo as if it were this moment (YYYY-MM-DDTHH:MM)")
        parser.add_argument(
            "--reset", action="store_true", help="start again from fresh demo data (the demo's own SQLite only)"
        )

    def handle(self, *args, addr, no_serve, today, now, reset, **options):
        moment = demo_moment(today, now)
        if moment:
            # every process started from here on reads the same clock (apps/core/clock.py)
            os.environ["QINGKA_CLOCK"] = settings.QINGKA_CLOCK = clock.setting_for(moment)
        if reset:
            self.reset()
        call_command("migrate", interactive=False, verbosity=0)
        seed()
        call_command("collectstatic", interactive=False, verbosity=0)
        users = " / ".join(username for username, _role, _name in STAFF)
        self.stdout.write(self.style.SUCCESS(f"清卡演示已就绪：http://{addr}/  用户 {users}，密码 {DEMO_PASSWORD}"))
        self.stdout.write(f"演示时间：{clock.now().astimezone(SHANGHAI):%Y-%m-%d %H:%M}（上海）")
        self.stdout.write(f"数据库：{settings.DATABASES['default']['NAME']}")
        if no_serve:
            return
        children = []
        if redis_answers():
            children = start_processes(f"http://{addr}")
            self.stdout.write("前置机（模拟机柜）、任务队列与巡检已启动。")
        else:
            warning = f"Redis 不可用（{settings.REDIS_URL}）：只启动网站，设备任务不会执行。"
            self.stdout.write(self.style.WARNING(warning))
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(timeout=20)

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
