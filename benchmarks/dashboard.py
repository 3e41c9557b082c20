"""#1–#3: the dashboard, the client page and the periods API of a firm with N clients × 24 periods,
four agents holding 150 devices each (inventories sent as real heartbeats), the site on gunicorn.

    .venv/bin/python benchmarks/dashboard.py 5000     (50 and 20000 measure #1 only)

Builds its data once in its own database (qingka_bench_<N>) and keeps it for the next run.
"""

import datetime as dt
import random
import sys
import threading
import time

import common

SIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
DATABASE = f"qingka_bench_{SIZE}"
MONTHS = 24
AGENTS, PER_AGENT = 4, 150
COMMAND = f".venv/bin/python benchmarks/dashboard.py {SIZE}"

common.setup(DATABASE)

import httpx  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as TestClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from apps.accounts import tokens  # noqa: E402
from apps.accounts.models import User  # noqa: E402
from apps.clients.models import Client  # noqa: E402
from apps.core import clock  # noqa: E402
from apps.core.months import add_months  # noqa: E402
from apps.devices.models import Device  # noqa: E402
from apps.filing_calendar.models import period_deadline  # noqa: E402
from apps.jobs.models import Job  # noqa: E402
from apps.periods.models import Period, working_month  # noqa: E402


def fill(count: int) -> None:
    """count clients, each with a device (every tenth a sub-device too) and 24 periods; jobs for a
    third of the devices; four agents whose heartbeats report 150 devices each."""
    if Client.objects.count() >= count:
        return
    print(f"filling {DATABASE}: {count} clients × {MONTHS} periods", flush=True)
    rng = random.Random(13)
    now, today = clock.now(), clock.today()
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": User.Role.ADMIN})
    staff = [
        User.objects.get_or_create(username=f"bench-kuaiji{n}", defaults={"role": User.Role.ACCOUNTANT})[0]
        for n in range(5)
    ]
    with transaction.atomic():
        clients = Client.objects.bulk_create(
            [
                Client(
                    name=f"基准客户{n:05d}有限公司",
                    taxpayer_id=common.credit_code(100000 + n),
                    taxpayer_kind="general" if n % 3 else "small_scale",
                    staff=staff[n % len(staff)],
                )
                for n in range(count)
            ],
            batch_size=2000,
        )
        devices = []
        for n, client in enumerate(clients):
            devices.append(
                Device(client=client, kind=("ukey", "tax_disk", "golden_tax_disk")[n % 3], number=f"77{n:010d}")
            )
            if n % 10 == 0:
                devices.append(Device(client=client, kind="ukey", sub_number=1, number=f"78{n:010d}"))
        for device in devices:
            device.certificate_password, device.device_password = "12345678", "88888888"
        devices = Device.objects.bulk_create(devices, batch_size=2000)
        working = working_month(today)
        months = [add_months(working, -k) for k in range(MONTHS)]
        deadlines = {m: period_deadline(m).date for m in months}
        periods = []
        for client in clients:
            for m in months:
                current = m == working
                roll = rng.random()
                periods.append(
                    Period(
                        client=client,
                        month=m,
                        deadline=deadlines[m],
                        summary_uploaded_at=now if not current or roll < 0.6 else None,
                        return_filed_on=today if not current or roll < 0.4 else None,
                        cleared_at=now if not current or roll < 0.2 else None,
                    )
                )
        Period.objects.bulk_create(periods, batch_size=5000)
        jobs = []
        for device in devices[::3]:
            for k in range(3):
                failed = rng.random() < 0.3
                jobs.append(
                    Job(
                        kind="clear",
                        device=device,
                        state="failed" if failed else "succeeded",
                        error_code="TRANSFER_FAILED" if failed else "",
                        attempts=1,
                        created_at=now - dt.timedelta(days=30 * k + 1),
                        finished_at=now - dt.timedelta(days=30 * k + 1),
                    )
                )
        Job.objects.bulk_create(jobs, batch_size=5000)
    # The agents report their devices as the running agent does: a heartbeat with the inventory.
    http = TestClient()
    numbers = [d.number for d in devices if d.sub_number == 0][: AGENTS * PER_AGENT]
    for a in range(AGENTS):
        agent, token = common.make_agent(f"bench-cabinet-{a + 1}")
        specs = [
            {"device_number": number, "kind": "ukey", "slot": f"1-{a + 1}.{i // 16 + 1}.{i % 16 + 1}"}
            for i, number in enumerate(numbers[a * PER_AGENT : (a + 1) * PER_AGENT])
        ]
        rows = common.inventory_rows(specs, common.fresh_dir(common.VAR / "fill" / f"cabinet-{a + 1}"))
        response = http.post(
            "/api/v1/agent/heartbeat/",
            {"version": "bench", "hostname": f"bench-pc-{a + 1}", "devices": rows, "jobs": []},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Agent {token}",
        )
        assert response.status_code == 200, response.content[:500]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def timed_gets(http: httpx.Client, url: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = http.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return times


def queries_for(user, url: str) -> int:
    http = TestClient()
    http.force_login(user)
    http.get(url)  # the first request of a process fills its caches
    with CaptureQueriesContext(connection) as captured:
        response = http.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def load(site_url: str, cookies: dict, users: int, seconds: float) -> tuple[list[float], int, int]:
    """users people at once, each opening a dashboard view and reading it 0.5–2.5 s before the next."""
    pages = max(1, SIZE // 50)
    urls = ["/", "/live/", "/?status=return_due", "/?q=基准客户0", "/?page={page}", "/live/?page={page}"]
    times, errors, lock = [], [0], threading.Lock()
    stop_at = time.monotonic() + seconds

    def user(seed):
        rng = random.Random(seed)
        with httpx.Client(base_url=site_url, cookies=cookies, timeout=30) as http:
            while time.monotonic() < stop_at:
                url = rng.choice(urls).format(page=rng.randint(1, pages))
                start = time.perf_counter()
                try:
                    ok = http.get(url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - start) * 1000
                with lock:
                    times.append(elapsed)
                    errors[0] += not ok
                time.sleep(rng.uniform(0.5, 2.5))

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, errors[0], len(times)


def main():
    fill(SIZE)
    admin = User.objects.get(username="bench-admin")
    size = f"{SIZE:,} clients × {MONTHS} periods, {AGENTS} agents × {PER_AGENT} devices"
    rows = []
    queries = queries_for(admin, "/")
    deep_page = max(1, SIZE // 50 - 1)
    deep_queries = queries_for(admin, f"/?page={deep_page}")
    site = common.Gunicorn(DATABASE).start()
    try:
        cookies = common.session_cookie(admin)
        with httpx.Client(base_url=site.url, cookies=cookies, timeout=60) as http:
            timed_gets(http, "/", 5)  # every worker warm
            times = timed_gets(http, "/", 50)
            deep = timed_gets(http, f"/?page={deep_page}", 50)
        p50, p95 = common.percentile(times, 50), common.percentile(times, 95)
        target = 150 if SIZE <= 5000 else 600
        rows.append(
            common.figure(
                1,
                f"dashboard_p95_{SIZE}",
                "Dashboard page 1, time to answer (gunicorn, 50 requests): p95",
                size,
                p95,
                "ms",
                f"≤ {target} ms" + ("" if SIZE <= 5000 else " (grows less than linearly: 4 × the 5,000 target)"),
                p95 <= target,
                COMMAND,
                p50=round(p50, 1),
            )
        )
        rows.append(
            common.figure(
                1,
                f"dashboard_p50_{SIZE}",
                "Dashboard page 1, time to answer: p50",
                size,
                p50,
                "ms",
                "(p95 is the target)",
                True,
                COMMAND,
            )
        )
        deep_p95 = common.percentile(deep, 95)
        rows.append(
            common.figure(
                1,
                f"dashboard_deep_page_p95_{SIZE}",
                f"Dashboard page {deep_page} (the last pages), p95",
                size,
                deep_p95,
                "ms",
                f"≤ {target} ms",
                deep_p95 <= target,
                COMMAND,
            )
        )
        rows.append(
            common.figure(
                1,
                f"dashboard_queries_{SIZE}",
                f"Dashboard SQL queries per request (page 1 / page {deep_page})",
                size,
                max(queries, deep_queries),
                "queries",
                "≤ 12, the same at 50, 5,000 and 20,000 clients",
                max(queries, deep_queries) <= 12,
                COMMAND,
                page_1=queries,
                deep_page=deep_queries,
            )
        )
        if SIZE == 5000:
            rows += client_page_and_api(site, admin, size)
            times, errors, requests = load(site.url, cookies, users=20, seconds=60)
            p95 = common.percentile(times, 95)
            rows.append(
                common.figure(
                    2,
                    "dashboard_20_users_p95",
                    "Dashboard views under 20 users at once (60 s, each reads 0.5–2.5 s between views)",
                    size + f", {common.GUNICORN_WORKERS} gunicorn workers",
                    p95,
                    "ms",
                    "≤ 500 ms, 0 errors",
                    p95 <= 500 and errors == 0,
                    COMMAND,
                    errors=errors,
                    requests=requests,
                    p50=round(common.percentile(times, 50), 1),
                )
            )
            rss = [common.rss_mb(pid) for pid in site.worker_pids()]
            rows.append(
                common.figure(
                    8,
                    "web_worker_rss",
                    "Web worker RSS after the load (largest of the gunicorn workers)",
                    size,
                    max(rss),
                    "MB",
                    "recycled after max_requests (config/gunicorn.py)",
                    site_recycles(),
                    COMMAND,
                )
            )
    finally:
        site.stop()
    common.save(f"dashboard-{SIZE}", rows)


def site_recycles() -> bool:
    from config import gunicorn

    return gunicorn.max_requests > 0


def client_page_and_api(site, admin, size) -> list[dict]:
    client = Client.objects.filter(devices__jobs__isnull=False).order_by("pk").first()
    _token, key = tokens.issue(admin, "benchmark", 30)
    with httpx.Client(base_url=site.url, cookies=common.session_cookie(admin), timeout=60) as http:
        timed_gets(http, f"/clients/{client.pk}/", 5)
        page = timed_gets(http, f"/clients/{client.pk}/", 50)
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Token {key}"}, timeout=60) as http:
        timed_gets(http, "/api/v1/periods/", 5)
        api = timed_gets(http, "/api/v1/periods/", 50)
    rows = []
    for name, what, times in (
        ("client_page_p95", "Client page (a client with devices and jobs), p95 of 50", page),
        ("api_periods_p95", "GET /api/v1/periods/ (first page of 50), p95 of 50", api),
    ):
        p95 = common.percentile(times, 95)
        rows.append(common.figure(3, name, what, size, p95, "ms", "≤ 100 ms", p95 <= 100, COMMAND))
    return rows


if __name__ == "__main__":
    main()
