"""#5: what the pipeline adds to the devices' own time. 2,000 读取状态 jobs on simulated devices
that take no time, through the site on gunicorn, Redis and one agent process working 32 at once.

    .venv/bin/python benchmarks/pipeline.py
    .venv/bin/python benchmarks/pipeline.py --scan 30   (a diagnosis, printed only)

Throughput: 2,000 jobs requested at once, from the request to the last result recorded; the median
of three rounds. Latency: then jobs requested for 20 s or until each device has one, each from
queued to its result recorded, at half, a quarter and a tenth of that rate, in groups of the jobs
due every 50 ms (as the autopilot and bulk requests bring many; at a tenth, mostly one per request).
Requested one at a time, a job costs several times more (a claim call and a result call of its own),
so the rate at which jobs requested one by one saturate is measured too (each as soon as the last
request returned, for 20 s), and the latency at half of it. Each latency is the median p99 of three
rounds (one round's swings with what else the shared host runs), beside the rate the load generator
reached, the machine's CPU use and the p99 of each step: to the claim, on the agent, to the result
recorded.

A diagnosis changes what is measured, so it is printed and not saved as the figures: `--scan S`
and `--heartbeat S` have the agent scan its devices, and send heartbeats, every S seconds instead
of every 2 and 3; `--latency R` measures only the latency rounds at R jobs/s, in groups every 50 ms
(`--rounds N` of them, 3 by default; `--tick S`: a group every S seconds instead; `--late` prints
each round's jobs at its p99 or over, `--late 0` every job, with the milliseconds of each step).
"""

import argparse
import datetime as dt
import gc
import os
import time
from dataclasses import dataclass

import common

DEVICES, CONCURRENCY = 2000, 32
ROUNDS = 3  # of each figure: one round swings with what else the machine does at that moment
GROUP_TICK = 0.05  # s: jobs due at a fraction of the saturated rate are requested in groups this often
PREFIX = 55  # of the devices' numbers
DATABASE = "qingka_bench_pipe"
COMMAND = ".venv/bin/python benchmarks/pipeline.py"

common.setup(DATABASE)

from django.db import connection  # noqa: E402

from apps.core import clock  # noqa: E402
from apps.devices.models import Agent, Device  # noqa: E402
from apps.jobs.models import Job  # noqa: E402
from apps.jobs.requesting import request_jobs  # noqa: E402


def number(n: int) -> str:
    return common.device_number(PREFIX, n)


def finished(ids) -> bool:
    return not Job.objects.filter(pk__in=ids).exclude(state__in=("succeeded", "failed")).exists()


def main():
    options = argparse.ArgumentParser()
    options.add_argument("--scan", type=float, help="seconds between the agent's scans of its devices")
    options.add_argument("--heartbeat", type=float, help="seconds between the agent's heartbeats")
    options.add_argument("--latency", type=float, help="jobs/s: only the latency rounds at this rate")
    options.add_argument("--rounds", type=int, default=ROUNDS, help="how many latency rounds, with --latency")
    options.add_argument("--tick", type=float, default=GROUP_TICK, help="with --latency: seconds between groups")
    options.add_argument(
        "--late", type=float, nargs="?", const=-1, help="with --latency: print the jobs at p99 or over (or MS)"
    )
    args = options.parse_args()
    diagnosis = args.scan is not None or args.heartbeat is not None or args.latency is not None
    common.fill_ukeys(DEVICES, "流水线客户", 700000, PREFIX)
    Job.objects.all().delete()
    common.unplug_devices(busy=False, monitoring=None)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    common.flush_redis()
    agent, token = common.make_agent("pipeline")
    state = common.fresh_dir(common.VAR / "pipeline")
    specs = [{"device_number": number(n), "kind": "ukey", "slot": f"sim-{n}"} for n in range(DEVICES)]
    devices_file = common.sim_devices_file(state / "devices.yaml", specs)
    site = common.Gunicorn(DATABASE).start()
    workers = common.site_workers(DATABASE)
    cadence = {"QINGKA_SCAN_SECONDS": args.scan, "QINGKA_HEARTBEAT_SECONDS": args.heartbeat}
    env = common.agent_env(
        site.url, token, devices_file, state, CONCURRENCY, **{k: str(v) for k, v in cadence.items() if v is not None}
    )
    process = common.Process("pipeline-agent", [str(common.BIN / "qingka-agent"), "run"], env).start()
    rows = []
    try:
        common.wait_until(
            lambda: (
                Device.objects.filter(agent=agent, present=True).count() == DEVICES
                and Agent.objects.get(pk=agent.pk).online
            ),
            timeout=600,
            what="the agent online with its devices",
        )
        time.sleep(3)
        common.analyze()
        devices = list(Device.objects.filter(agent=agent).select_related("agent", "client").order_by("pk"))
        gc.freeze()  # the load generator's own full collections bunched its requests up
        processes = {"site": site.worker_pids(), "agent": [process.pid], "load generator": [os.getpid()]}
        if args.latency is not None:
            p99s = []
            for _ in range(args.rounds):
                paced = requested_paced(devices, args.latency, processes, args.tick)
                p99s.append(paced.p99)
                print(describe(paced))
                if args.late is not None:
                    print("\n".join(late(paced, paced.p99 if args.late < 0 else args.late)))
            print(f"median p99 of {args.rounds} rounds: {common.percentile(p99s, 50):.0f} ms")
            print("site workers replaced meanwhile:", sorted(set(processes["site"]) - set(site.worker_pids())))
            return
        rates, succeeded = [], 0
        with common.CpuBusy(processes) as cpu:
            for _ in range(ROUNDS):
                started = clock.now()
                jobs, skipped = request_jobs("read_status", devices)
                assert not skipped, skipped[:3]
                ids = [j.pk for j in jobs]
                common.wait_until(lambda ids=ids: finished(ids), timeout=3600, interval=0.2, what="the 2,000 jobs")
                done = list(Job.objects.filter(pk__in=ids))
                rates.append(len(done) / (max(j.finished_at for j in done) - started).total_seconds())
                succeeded += sum(j.state == "succeeded" for j in done)
        rate = common.percentile(rates, 50)
        size = f"{DEVICES} simulated devices (no device time), 1 agent × {CONCURRENCY}"
        rows.append(
            common.figure(
                5,
                "pipeline_jobs_per_second",
                f"Jobs through site, broker and agent per second (2,000 requested at once), median of {ROUNDS}; "
                f"the machine's CPU {cpu.percent:.0f}% busy ({cpu.shares()} of a core), "
                f"{cpu.steal:.0f}% taken by its host",
                size,
                rate,
                "jobs/s",
                "≥ 200 jobs/s",
                rate >= 200 and succeeded == DEVICES * ROUNDS,
                COMMAND,
                succeeded=succeeded,
                rates=[round(r, 1) for r in rates],
                steal_percent=round(cpu.steal, 1),
            )
        )
        size_one = f"{size}, one job per request"
        saturated = requested_paced(devices, None, processes)
        rows.append(
            common.figure(
                5,
                "pipeline_one_by_one_jobs_per_second",
                f"Jobs through site, broker and agent per second, each requested as soon as the last request "
                f"returned, for 20 s; the machine's CPU {saturated.cpu.percent:.0f}% busy "
                f"({saturated.cpu.shares()} of a core), {saturated.cpu.steal:.0f}% taken by its host",
                size_one,
                saturated.throughput,
                "jobs/s",
                "reported",
                saturated.succeeded == saturated.count,
                COMMAND,
                jobs=saturated.count,
            )
        )
        at_once, alone = (rate, "the saturated rate"), (saturated.throughput, "the rate one by one saturates")
        for (of, which), pace, tick, name, targeted in (
            (at_once, 2, GROUP_TICK, "pipeline_latency_p99", True),
            (at_once, 4, GROUP_TICK, "pipeline_latency_p99_quarter", False),
            (at_once, 10, GROUP_TICK, "pipeline_latency_p99_tenth", False),
            (alone, 2, 0.0, "pipeline_latency_p99_half_one_by_one", True),
        ):
            rounds = sorted(
                (requested_paced(devices, max(1.0, of / pace), processes, tick) for _ in range(ROUNDS)),
                key=lambda r: r.p99,
            )
            paced = rounds[len(rounds) // 2]  # the median round, whose rate and CPU are shown with its p99
            arrival = f"in groups of {paced.group} every {tick * 1000:.0f} ms" if paced.group > 1 else "one by one"
            rows.append(
                common.figure(
                    5,
                    name,
                    f"Queued → result recorded, p99, median of {ROUNDS} rounds of "
                    f"{paced.count / paced.requested:.0f} s ({', '.join(f'{r.p99:.0f}' for r in rounds)} ms), "
                    f"jobs requested {arrival} at "
                    f"{paced.rate:.0f} jobs/s (1/{pace} of {which}; the load generator reached "
                    f"{paced.requested:.0f}); the machine's CPU {paced.cpu.percent:.0f}% busy "
                    f"({paced.cpu.shares()} of a core), {paced.cpu.steal:.0f}% taken by its host; p99 of each "
                    f"step: {', '.join(f'{step} {ms:.0f} ms' for step, ms in paced.steps.items())}",
                    size if paced.group > 1 else size_one,
                    paced.p99,
                    "ms",
                    "≤ 100 ms" if targeted else "reported",
                    (paced.p99 <= 100 if targeted else True) and all(r.succeeded == r.count for r in rounds),
                    COMMAND,
                    p99_rounds=[round(r.p99, 1) for r in rounds],
                    p50=round(common.percentile(paced.latencies, 50), 1),
                    jobs=paced.count,
                    requested_per_second=round(paced.requested, 1),
                    cpu_percent=round(paced.cpu.percent, 1),
                    steal_percent=round(paced.cpu.steal, 1),
                )
            )
    finally:
        process.stop()
        for worker in workers:
            worker.stop()
        site.stop()
    scan = scan_milliseconds(devices_file, state)
    rows.append(
        common.figure(
            5,
            "agent_scan_ms",
            "The agent's scan of its devices (every 2 s by default, less often when it takes over 10 ms; its job "
            "threads wait meanwhile), median of 10",
            f"{DEVICES} simulated devices",
            scan,
            "ms",
            "reported",
            True,
            COMMAND,
        )
    )
    if not diagnosis:
        common.save("pipeline", rows)


def describe(paced: "Paced") -> str:
    return (
        f"{paced.count} jobs in groups of {paced.group} at {paced.requested:.0f} jobs/s: p50 "
        f"{common.percentile(paced.latencies, 50):.0f} ms, p99 {paced.p99:.0f} ms; steps (p99) "
        f"{paced.steps}; CPU {paced.cpu.percent:.0f}% ({paced.cpu.shares()}), steal {paced.cpu.steal:.0f}%"
    )


@dataclass
class Paced:
    rate: float | None  # asked for; None: each job as soon as the last request returned
    group: int  # jobs per request
    count: int  # jobs requested
    requested: float  # jobs/s the load generator reached
    throughput: float  # jobs/s from the first queued to the last result recorded
    jobs: list[Job]  # the jobs that succeeded
    cpu: common.CpuBusy

    @property
    def latencies(self) -> list[float]:
        return [latency(job) for job in self.jobs]

    @property
    def steps(self) -> dict[str, float]:
        """p99 of each step of the jobs (step_times): where the time goes."""
        times = [step_times(job) for job in self.jobs]
        return {step: round(common.percentile([t[step] for t in times], 99), 1) for step in times[0]}

    @property
    def succeeded(self) -> int:
        return len(self.jobs)

    @property
    def p99(self) -> float:
        return common.percentile(self.latencies, 99)


def requested_paced(devices, rate: float | None, processes: dict[str, list[int]], tick: float = 0.0) -> Paced:
    """Jobs requested for 20 s (at most one per device), then waited for: at `rate` jobs/s, one by
    one or, given a `tick`, in groups of the jobs due in a tick; without a rate, one by one, each as
    soon as the last request returned."""
    group = max(1, round(rate * tick)) if rate else 1
    count = min(len(devices), round(rate * 20)) if rate else len(devices)
    ids, start = [], time.monotonic()
    with common.CpuBusy(processes) as cpu:
        for k in range(0, count, group):
            if rate is None and time.monotonic() - start >= 20:
                break
            if rate is not None:
                time.sleep(max(0.0, start + k / rate - time.monotonic()))
            created, _ = request_jobs("read_status", devices[k : k + group])
            ids += [j.pk for j in created]
        requested = len(ids) / (time.monotonic() - start)
        common.wait_until(lambda: finished(ids), timeout=600, interval=0.2, what="the paced jobs")
    jobs = list(Job.objects.filter(pk__in=ids))
    span = (max(j.finished_at for j in jobs) - min(j.queued_at for j in jobs)).total_seconds()
    succeeded = [j for j in jobs if j.state == "succeeded"]
    return Paced(rate, group, len(ids), requested, len(jobs) / span, succeeded, cpu)


def milliseconds(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() * 1000


def latency(job) -> float:
    """Milliseconds from queued to result recorded."""
    return milliseconds(job.queued_at, job.finished_at)


def step_times(job) -> dict[str, float]:
    """A job's milliseconds in each step from queued to recorded: to the claim (the message and the
    claim call), on the agent (the claim's answer and the device), and to the result recorded (the
    outbox and the result call). The agent's clock is this machine's."""
    agent_done = dt.datetime.fromisoformat(job.result["finished_at"])
    return {
        "to claimed": milliseconds(job.queued_at, job.started_at),
        "on the agent": milliseconds(job.started_at, agent_done),
        "to recorded": milliseconds(agent_done, job.finished_at),
    }


def late(paced: Paced, over: float) -> list[str]:
    """The round's jobs that took `over` ms or more, in the order they were queued, with their steps:
    whether they came alone or together, and which step held them."""
    first = min(job.queued_at for job in paced.jobs)
    lines = []
    for job in sorted(paced.jobs, key=lambda job: job.queued_at):
        took = latency(job)
        if took >= over:
            spent = ", ".join(f"{step} {ms:.0f}" for step, ms in step_times(job).items())
            lines.append(f"  queued at {milliseconds(first, job.queued_at):5.0f} ms, {took:.0f} ms: {spent}")
    return lines


def scan_milliseconds(devices_file, state) -> float:
    """The scan `qingka-agent run` makes of this cabinet, timed in this process once the run is over."""
    from qingka_agent.drivers.simulated import SimulatedDriver
    from qingka_agent.inventory import Inventory

    inventory = Inventory([SimulatedDriver(devices_file, state)])
    inventory.scan()
    times = []
    for _ in range(10):
        start = time.perf_counter()
        inventory.scan()
        times.append((time.perf_counter() - start) * 1000)
    return common.percentile(times, 50)


if __name__ == "__main__":
    main()
