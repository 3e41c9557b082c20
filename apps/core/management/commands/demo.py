from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.core.demo import DEMO_PASSWORD, seed


class Command(BaseCommand):
    help = "Runs the demo: migrates, seeds demo data and serves the site on embedded defaults."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="prepare only, do not start the server")

    def handle(self, *args, addr, no_serve, **options):
        call_command("migrate", interactive=False, verbosity=0)
        seed()
        self.stdout.write(self.style.SUCCESS(
            f"清卡演示已就绪：http://{addr}/  用户 admin / kuaiji1 / kuaiji2 / viewer，密码 {DEMO_PASSWORD}"
        ))
        self.stdout.write(f"数据库：{settings.DATABASES['default']['NAME']}")
        if not no_serve:
            call_command("runserver", addr, use_reloader=False)
