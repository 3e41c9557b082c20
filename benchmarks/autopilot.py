"""#7: the autopilot's pass over 5,000 clients and 6,000 devices (every fifth client has a
sub-device), at 00:06 on the 1st: every period row made and every 抄报 job created, its
messages sent to the real Redis (no agent takes them). Also at 500 clients, for the queries.

    .venv/bin/python benchmarks/autopilot.py

The pass runs in this process (as the sweeper runs it) so its SQL can be counted.
"""

import datetime as dt
import time

import common

DATABASE = "qingka_bench_autopilot"
CLIENTS, AGENTS = 5000, 20
CLOCK = "2026-12-01T00:06:00+08:00"
COMMAND = ".venv/bin/python benchmarks/autopilot.py"
RUNS = 5

common.setup(DATABASE, QINGKA_CLOCK=f"{CLOCK}@{time.time():.3f}")

from django.db import connection, transaction  # noqa: E402

from apps.autopilot import cycle  # noqa: E402
from apps.autopilot.models import Autopilot  # noqa: E402
from apps.clients.models import Client  # noqa: E402
from apps.core import clock  # noqa: E402
from apps.devices.models import Agent, Device  # noqa: E402
from apps.jobs.models import Job  # noqa: E402
from apps.periods.models import Period  # noqa: E402


def fill() -> None:
    """5,000 clients, a third small-scale; 6,000 devices present on 20 agents."""
    if Client.objects.count() >= CLIENTS:
        return
    print(f"filling {DATABASE}", flush=True)
    with transaction.atomic():
        agents = [common.make_agent(f"bench-autopilot-{n + 1:02d}")[0] for n in range(AGENTS)]
        clients = Client.objects.bulk_create(
            [
                Client(
                    name=f"自动客户{n:05d}有限公司",
                    taxpayer_id=common.credit_code(500000 + n),
                    taxpayer_kind="small_scale" if n % 3 == 0 else "general",
                )
                for n in range(CLIENTS)
            ]
        )
        devices = []
        for n, client in enumerate(clients):
            for sub in (0, 1) if n % 5 == 0 else (0,):
                devices.append(
                    Device(
                        client=client,
                        kind="tax_disk",
                        number=f"6{sub}{n:010d}",
                        sub_number=sub,
                        certificate_password="12345678",
                        device_password="88888888",
                        agent=agents[n % AGENTS],
                        present=True,
                        lock_date=dt.date(2026, 12, 15),
                    )
                )
        Device.objects.bulk_create(devices, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def one_pass(active: int) -> tuple[float, int, int]:
    """(seconds, SQL statements, jobs created) of one pass over the first `active` clients, from
    a month with nothing done yet."""
    Job.objects.all().delete()
    Period.objects.all().delete()
    common.flush_redis()
    Client.objects.update(active=False)
    Client.objects.filter(pk__in=Client.objects.order_by("pk").values("pk")[:active]).update(active=True)
    Agent.objects.update(online=True, last_heartbeat_at=clock.now())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    statements = []
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        start = time.perf_counter()
        cycle.run_pass(clock.now(), Autopilot.current())
        seconds = time.perf_counter() - start
    return seconds, len(statements), Job.objects.count()


def main():
    fill()
    Autopilot.objects.update_or_create(pk=1, defaults={"enabled": True, "per_agent_per_minute": 60})
    one_pass(500)  # warm: the first pass of a process fills its caches
    _, small_queries, small_jobs = one_pass(500)
    runs = [one_pass(CLIENTS) for _ in range(RUNS)]
    seconds = sorted(run[0] for run in runs)
    median, queries, jobs = seconds[len(seconds) // 2], runs[-1][1], runs[-1][2]
    devices = Device.objects.count()
    size = f"{CLIENTS:,} clients, {devices:,} devices on {AGENTS} agents"
    rows = [
        common.figure(
            7,
            "autopilot_pass_seconds",
            f"The autopilot's pass: {jobs:,} jobs decided and made, median of {RUNS}",
            size,
            median,
            "s",
            "≤ 2 s",
            median <= 2 and jobs == devices,
            COMMAND,
            runs=[round(s, 3) for s in seconds],
        ),
        common.figure(
            7,
            "autopilot_pass_queries",
            f"SQL statements of that pass (at 500 clients, {small_jobs} jobs: {small_queries})",
            size,
            queries,
            "statements",
            "constant: ≤ the 500-client count + 10",
            queries <= small_queries + 10,
            COMMAND,
            at_500=small_queries,
        ),
    ]
    common.save("autopilot", rows)


if __name__ == "__main__":
    main()
