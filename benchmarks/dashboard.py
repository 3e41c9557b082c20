"""How the dashboard holds with many clients: time and queries per page, on PostgreSQL.

    make bench
    (or: DATABASE_URL=postgres://postgres@127.0.0.1:5432/qingka_bench .venv/bin/python benchmarks/dashboard.py 5000)

Uses (and fills once) its own database, never the demo's or the tests'. Not part of `make test`.
"""

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qingka_bench")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import User  # noqa: E402
from apps.clients.models import Client  # noqa: E402
from apps.core.months import add_months, month_start  # noqa: E402
from apps.demo.seed import demo_credit_code  # noqa: E402
from apps.devices.models import Device  # noqa: E402
from apps.jobs.models import Job  # noqa: E402
from apps.periods.models import Period  # noqa: E402


def fill(count: int) -> User:
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": User.Role.ADMIN})
    have = Client.objects.count()
    if have >= count:
        return admin
    month = add_months(month_start(timezone.localdate()), -1)
    deadline = timezone.localdate() + dt.timedelta(days=10)
    now = timezone.now()
    clients = Client.objects.bulk_create(
        [
            Client(
                name=f"基准客户{n:05d}有限公司",
                taxpayer_id=demo_credit_code(100000 + n),
                taxpayer_kind="general" if n % 3 else "small_scale",
                staff=admin,
            )
            for n in range(have, count)
        ]
    )
    devices = Device.objects.bulk_create(
        [
            Device(
                client=c,
                kind="ukey",
                number=f"77{c.pk:010d}",
                certificate_password="12345678",
                device_password="88888888",
                present=bool(c.pk % 9),
            )
            for c in clients
        ]
    )
    Period.objects.bulk_create(
        [
            Period(
                client=c,
                month=month,
                deadline=deadline,
                summary_uploaded_at=now if c.pk % 2 else None,
                return_filed_on=timezone.localdate() if c.pk % 4 == 1 else None,
            )
            for c in clients
        ]
    )
    Job.objects.bulk_create(
        [Job(kind="clear", device=d, state="failed", error_code="TRANSFER_FAILED") for d in devices[::3]]
    )
    return admin


def measure(http, url, runs=20):
    times, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = http.get(url)
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return statistics.median(times) * 1000, max(times) * 1000, queries


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)
    admin = fill(count)
    http = HttpClient()
    http.force_login(admin)
    print(f"clients: {Client.objects.count()}, database: {settings.DATABASES['default']['NAME']}")
    for label, url in [
        ("dashboard, page 1", "/"),
        ("dashboard, page 60", "/?page=60"),
        ("dashboard, status filter", "/?status=return_due"),
        ("dashboard, search", "/?q=基准客户04321"),
        ("live fragment", "/live/"),
    ]:
        median, worst, queries = measure(http, url)
        print(f"{label:<26} median {median:7.1f} ms   worst {worst:7.1f} ms   {queries} queries")


if __name__ == "__main__":
    main()
