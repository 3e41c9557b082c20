"""#4: bulk scheduling of 5,000 清卡 from the confirm to every job row created and every message
sent (the broker is the real Redis; no agent takes the messages). Rate caps off: all due now.

    .venv/bin/python benchmarks/scheduling.py

Runs the confirm view in this process so its SQL can be counted, at 500 and at 5,000 devices.
"""

import datetime as dt
import time
import uuid

import common

DATABASE = "qingka_bench_sched"
CLIENTS, AGENTS = 5000, 20
CLOCK = "2026-12-03T09:00:00+08:00"
MONTH = dt.date(2026, 11, 1)
COMMAND = ".venv/bin/python benchmarks/scheduling.py"

common.setup(DATABASE, QINGKA_CLOCK=f"{CLOCK}@{time.time():.3f}")

import redis  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as TestClient  # noqa: E402

from apps.accounts.models import User  # noqa: E402
from apps.clients.models import Client  # noqa: E402
from apps.core import clock  # noqa: E402
from apps.devices.models import Agent, Device  # noqa: E402
from apps.filing_calendar.models import period_deadline  # noqa: E402
from apps.jobs.models import Job  # noqa: E402
from apps.periods.models import Period  # noqa: E402
from apps.scheduling.models import Batch  # noqa: E402


def fill() -> None:
    """5,000 general taxpayers ready to clear (抄报 done, return filed), their devices present on
    20 online agents (250 each)."""
    if Client.objects.count() >= CLIENTS:
        return
    print(f"filling {DATABASE}", flush=True)
    now = clock.now()
    User.objects.get_or_create(username="bench-admin", defaults={"role": User.Role.ADMIN})
    few, _ = User.objects.get_or_create(username="bench-kuaiji-500", defaults={"role": User.Role.ACCOUNTANT})
    with transaction.atomic():
        agents = [common.make_agent(f"bench-sched-{n + 1:02d}")[0] for n in range(AGENTS)]
        clients = Client.objects.bulk_create(
            [
                Client(
                    name=f"批量客户{n:05d}有限公司",
                    taxpayer_id=common.credit_code(300000 + n),
                    taxpayer_kind="general",
                    staff=few if n < 500 else None,
                )
                for n in range(CLIENTS)
            ]
        )
        devices = [
            Device(
                client=client,
                kind="tax_disk",
                number=f"66{n:010d}",
                certificate_password="12345678",
                device_password="88888888",
                agent=agents[n % AGENTS],
                present=True,
                slot=f"1-1.{n}",
                last_seen_at=now,
            )
            for n, client in enumerate(clients)
        ]
        Device.objects.bulk_create(devices, batch_size=2000)
        deadline = period_deadline(MONTH).date
        Period.objects.bulk_create(
            [
                Period(client=c, month=MONTH, deadline=deadline, summary_uploaded_at=now, return_filed_on=clock.today())
                for c in clients
            ],
            batch_size=2000,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def queued_messages() -> int:
    broker = redis.Redis.from_url(common.REDIS_URL)
    return sum(broker.llen(agent.queue_name) for agent in Agent.objects.all())


def confirm(http, staff=None) -> tuple[float, int, int, int]:
    """(seconds, SQL statements, jobs created, messages in the broker) of one confirm."""
    Job.objects.all().delete()
    Batch.objects.all().delete()
    common.flush_redis()
    Agent.objects.update(online=True, last_heartbeat_at=clock.now())
    data = {
        "month": "2026-11",
        "kind": "clear",
        "when": "now",
        "per_agent_per_minute": "",  # none: the firm's policy is not the overhead measured here
        "token": str(uuid.uuid4()),
    }
    if staff:
        data["staff"] = staff.pk
    statements = []  # every statement, however many (Django's query log keeps only the last 9,000)
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        start = time.perf_counter()
        response = http.post("/bulk/confirm/", data)
        seconds = time.perf_counter() - start
    assert response.status_code == 302, response.status_code
    jobs = Job.objects.count()
    assert jobs, "the confirm created no job"
    return seconds, len(statements), jobs, queued_messages()


def main():
    fill()
    http = TestClient()
    http.force_login(User.objects.get(username="bench-admin"))
    few = User.objects.get(username="bench-kuaiji-500")
    confirm(http, staff=few)  # warm: the first request of a process fills its caches
    small_seconds, small_queries, small_jobs, _ = confirm(http, staff=few)
    seconds, queries, jobs, sent = confirm(http)
    size = f"{jobs:,} devices on {AGENTS} agents"
    rows = [
        common.figure(
            4,
            "bulk_schedule_seconds",
            "Bulk 清卡 confirm: every job row created and every message sent",
            size,
            seconds,
            "s",
            "≤ 2 s",
            seconds <= 2 and sent == jobs == CLIENTS,
            COMMAND,
            messages_sent=sent,
        ),
        common.figure(
            4,
            "bulk_schedule_queries",
            f"SQL statements of that confirm (at {small_jobs} devices: {small_queries})",
            size,
            queries,
            "statements",
            "do not grow per job beyond a small constant: ≤ the 500-device count + 20",
            queries <= small_queries + 20,
            COMMAND,
            at_500=small_queries,
            seconds_at_500=round(small_seconds, 3),
        ),
    ]
    common.save("scheduling", rows)


if __name__ == "__main__":
    main()
