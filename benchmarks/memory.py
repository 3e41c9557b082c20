"""#8: memory. An agent holding 150 simulated devices, idle and while it works all of them (2 s
per operation, 32 at once), beside a bare Celery thread-pool worker doing the same number of 2 s
tasks, measured in the same run; and the site's rq worker and sweeper.

    .venv/bin/python benchmarks/memory.py
"""

import time

import common

DEVICES, CONCURRENCY, LATENCY = 150, 32, 2.0
PREFIX = 33  # of the devices' numbers
DATABASE = "qingka_bench_mem"
COMMAND = ".venv/bin/python benchmarks/memory.py"
IDLE_SECONDS = 20

common.setup(DATABASE)


from apps.devices.models import Agent, Device  # noqa: E402
from apps.jobs.models import Job  # noqa: E402
from apps.jobs.requesting import request_jobs  # noqa: E402


def number(n: int) -> str:
    return common.device_number(PREFIX, n)


def peak_rss(pid: int, until) -> float:
    peak = 0.0
    while not until():
        peak = max(peak, common.rss_mb(pid))
        time.sleep(0.2)
    return max(peak, common.rss_mb(pid))


def bare_worker() -> tuple[float, float]:
    """(idle, busy) RSS of a bare Celery thread-pool worker doing 150 tasks of 2 s."""
    env = {
        **common.site_env(DATABASE),
        "PYTHONPATH": str(common.ROOT / "benchmarks"),
        "BENCH_REDIS_URL": common.REDIS_URL,
    }
    argv = [
        str(common.BIN / "celery"),
        "-A",
        "bare_celery",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(CONCURRENCY),
        "-Q",
        "bare",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "WARNING",
    ]
    process = common.Process("bare-celery", argv, env).start()
    try:
        time.sleep(IDLE_SECONDS)
        idle = common.rss_mb(process.pid)
        from bare_celery import app

        for _ in range(DEVICES):
            app.send_task("bare.sleep", args=[LATENCY], queue="bare")
        import redis

        broker = redis.Redis.from_url(common.REDIS_URL)
        ends = time.monotonic() + DEVICES / CONCURRENCY * LATENCY + 5
        busy = peak_rss(process.pid, lambda: time.monotonic() > ends and broker.llen("bare") == 0)
    finally:
        process.stop()
    return idle, busy


def main():
    import sys

    sys.path.insert(0, str(common.ROOT / "benchmarks"))
    common.fill_ukeys(DEVICES, "内存客户", 900000, PREFIX)
    Job.objects.all().delete()
    common.unplug_devices()
    common.flush_redis()
    agent, token = common.make_agent("memory-150")
    state = common.fresh_dir(common.VAR / "memory")
    specs = [
        {"device_number": number(n), "kind": "ukey", "slot": f"sim-{n}", "latency_seconds": LATENCY}
        for n in range(DEVICES)
    ]
    devices_file = common.sim_devices_file(state / "devices.yaml", specs)
    site = common.Gunicorn(DATABASE).start()
    workers = common.site_workers(DATABASE)
    env = common.agent_env(site.url, token, devices_file, state, CONCURRENCY)
    process = common.Process("memory-agent", [str(common.BIN / "qingka-agent"), "run"], env).start()
    try:
        common.wait_until(
            lambda: (
                Device.objects.filter(agent=agent, present=True).count() == DEVICES
                and Agent.objects.get(pk=agent.pk).online
            ),
            timeout=300,
            what="the agent online with its devices",
        )
        time.sleep(IDLE_SECONDS)
        idle = common.rss_mb(process.pid)
        devices = list(Device.objects.filter(agent=agent).select_related("agent", "client"))
        jobs, _ = request_jobs("read_status", devices)
        ids = [j.pk for j in jobs]
        busy = peak_rss(
            process.pid,
            lambda: not Job.objects.filter(pk__in=ids).exclude(state__in=("succeeded", "failed")).exists(),
        )
        rq_rss = {w.name.split("-")[0]: common.rss_mb(w.pid) for w in workers}
    finally:
        process.stop()
        for worker in workers:
            worker.stop()
        site.stop()
    bare_idle, bare_busy = bare_worker()
    size = f"{DEVICES} simulated devices, {CONCURRENCY} at once, {LATENCY:g} s/op"
    rows = []
    for state_name, mine, bare in (("idle", idle, bare_idle), ("busy", busy, bare_busy)):
        rows.append(
            common.figure(
                8,
                f"agent_rss_{state_name}",
                f"Agent RSS, {state_name} (a bare Celery thread-pool worker {state_name}: {bare:.1f} MB)",
                size,
                mine,
                "MB",
                f"≤ bare worker + 20 MB = {bare + 20:.1f} MB",
                mine <= bare + 20,
                COMMAND,
                bare_worker_mb=round(bare, 1),
            )
        )
    for name, mb in rq_rss.items():
        rows.append(
            common.figure(
                8, f"{name}_rss", f"Site {name} process RSS", "idle after the run", mb, "MB", "reported", True, COMMAND
            )
        )
    common.save("memory", rows)


if __name__ == "__main__":
    main()
