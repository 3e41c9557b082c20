from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.core.demo import DEMO_PASSWORD, seed
from apps.core.demo_stack import redis_answers, start_processes


class Command(BaseCommand):
    help = "Runs the demo: migrates, seeds demo data, and runs the site with its worker, sweeper and a simulated agent."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="prepare only, do not start anything")

    def handle(self, *args, addr, no_serve, **options):
        call_command("migrate", interactive=False, verbosity=0)
        seed()
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(
            self.style.SUCCESS(
                f"清卡演示已就绪：http://{addr}/  用户 admin / kuaiji1 / kuaiji2 / viewer，密码 {DEMO_PASSWORD}"
            )
        )
        self.stdout.write(f"数据库：{settings.DATABASES['default']['NAME']}")
        if no_serve:
            return
        children = []
        if redis_answers():
            children = start_processes(f"http://{addr}")
            self.stdout.write("前置机（模拟机柜）、任务队列与巡检已启动。")
        else:
            self.stdout.write(
                self.style.WARNING(f"Redis 不可用（{settings.REDIS_URL}）：只启动网站，设备任务不会执行。")
            )
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(timeout=20)
