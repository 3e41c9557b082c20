"""Issue 29: the month-end crunch through cabinets over MQTT. One agent process with the `cabinet`
driver holding 4 emulated terminals of 60 ports each (240 devices), the emulator in its own process,
mosquitto, one bulk 抄报并清卡 through the site on gunicorn, its sweeper and Redis. A cabinet does
抄报 and 清卡 in one command (cbjkxxhc), here taking 2 × 2 s, what the two operations take in the
simulated crunch. The physical limit is what the devices alone need: 240 jobs of 4 s in waves of
32 devices at once, 8 waves (common.physical_limit).

    .venv/bin/python benchmarks/crunch_cabinet.py
"""

import datetime as dt
import shutil
import socket
import time
import uuid

import common
import yaml

TERMINALS, PORTS, CONCURRENCY, LATENCY = 4, 60, 32, 2.0
DEVICES = TERMINALS * PORTS
CBJK_SECONDS = 2 * LATENCY  # one command for both operations
DATABASE = "qingka_bench_crunch_cabinet"
CLOCK = common.set_clock("2026-12-03T09:00:00+08:00")
MONTH = dt.date(2026, 11, 1)
COMMAND = ".venv/bin/python benchmarks/crunch_cabinet.py"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

common.setup(DATABASE, QINGKA_CLOCK=CLOCK)

from django.test import Client as TestClient  # noqa: E402

from apps.accounts.models import User  # noqa: E402
from apps.core import clock  # noqa: E402
from apps.devices.models import Agent, Device  # noqa: E402
from apps.jobs.models import Job  # noqa: E402
from apps.periods.models import Period  # noqa: E402


def number(n: int) -> str:
    return f"89{n:010d}"


def terminal(t: int) -> str:
    return f"{681000000001 + t:012d}"


def cabinet_file(path) -> None:
    terminals = [
        {
            "ter_id": terminal(t),
            "ports": PORTS,
            "devices": [
                {
                    "usb_port": p,
                    "plate_num": number(t * PORTS + p - 1),
                    "kind": "tax_disk",
                    "zxbsrq": "2026-11-02",
                    "kpjzsj": "2026-12-15",
                    "latency": CBJK_SECONDS,
                }
                for p in range(1, PORTS + 1)
            ],
        }
        for t in range(TERMINALS)
    ]
    path.write_text(yaml.safe_dump({"terminals": terminals}))


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def main():
    common.fill_month_end(DEVICES, "机柜客户", 700000, number, MONTH)
    common.reset_month_end(dt.date(2026, 12, 2))
    limit = common.physical_limit(DEVICES, CBJK_SECONDS, CONCURRENCY)
    state = common.fresh_dir(common.VAR / "crunch-cabinet")
    port = common.free_port()
    (state / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
        "max_queued_messages 100000\n"
    )
    broker = common.Process("crunch-cabinet-mosquitto", [MOSQUITTO, "-c", str(state / "mosquitto.conf")], {})
    broker.start()
    common.wait_until(lambda: port_answers(port), timeout=10, what="mosquitto")
    url = f"mqtt://127.0.0.1:{port}"
    cabinet_file(state / "cabinet.yaml")
    env = common.agent_env("", "", state / "unused.yaml", state, CONCURRENCY, QINGKA_CLOCK=CLOCK)
    emulator = common.Process(
        "crunch-cabinet-emulator",
        [
            *(str(common.BIN / "python"), "-m", "qingka_agent.cabinet_emulator"),
            *("--broker", url, "--cabinet", str(state / "cabinet.yaml"), "--workers", str(DEVICES + 16)),
        ],
        env,
    ).start()
    site = common.Gunicorn(DATABASE, QINGKA_CLOCK=CLOCK).start()
    workers = common.site_workers(DATABASE, QINGKA_CLOCK=CLOCK)
    agent, token = common.make_agent("crunch-cabinet")
    agent_env = {
        **common.agent_env(site.url, token, state / "unused.yaml", state / "agent", CONCURRENCY, QINGKA_CLOCK=CLOCK),
        "QINGKA_DRIVERS": "cabinet",
        "QINGKA_CABINET_BROKER_URL": url,
        "QINGKA_CABINET_TERMINALS": ",".join(terminal(t) for t in range(TERMINALS)),
        "QINGKA_CABINET_SIMULATED": "true",
    }
    process = common.Process("crunch-cabinet-agent", [str(common.BIN / "qingka-agent"), "run"], agent_env)
    rows = []
    try:
        process.start()
        common.wait_until(
            lambda: (
                Device.objects.filter(present=True, agent=agent).count() == DEVICES
                and Agent.objects.get(pk=agent.pk).online
            ),
            timeout=300,
            what="the agent online with all cabinet devices",
        )
        time.sleep(3)
        common.analyze()
        http = TestClient()
        http.force_login(User.objects.get(username="bench-admin"))
        started = clock.now()
        data = {"month": "2026-11", "kind": "upload_and_clear", "when": "now", "per_agent_per_minute": ""}
        http.post("/bulk/confirm/", {**data, "token": str(uuid.uuid4())})
        assert Job.objects.count() == DEVICES, Job.objects.count()
        common.wait_until(
            lambda: not Job.objects.filter(state__in=("scheduled", "queued", "running")).exists(),
            timeout=1800,
            interval=0.2,
            what="every job to finish",
        )
        jobs = list(Job.objects.all())
        wall = (max(j.finished_at for j in jobs) - started).total_seconds()
        per_job = sorted((j.finished_at - j.started_at).total_seconds() for j in jobs if j.started_at)
        succeeded = sum(j.state == "succeeded" for j in jobs)
        done = sum(1 for p in Period.objects.filter(month=MONTH) if p.cleared_at)
        ratio = wall / limit
        size = (
            f"{DEVICES} devices on {TERMINALS} terminals × {PORTS} ports, "
            f"1 agent × {CONCURRENCY}, {CBJK_SECONDS:g} s/cbjkxxhc"
        )
        rows.append(
            common.figure(
                6,
                "crunch_cabinet_ratio",
                f"Month-end crunch through cabinets over MQTT: wall time / physical limit ({limit:g} s)",
                size,
                ratio,
                "× limit",
                "≤ 1.10 ×",
                ratio <= 1.10 and succeeded == done == DEVICES,
                COMMAND,
                wall_seconds=round(wall, 1),
                physical_limit_seconds=limit,
                succeeded=succeeded,
                periods_done=done,
                first_claim_seconds=round((min(j.started_at for j in jobs) - started).total_seconds(), 2),
                job_seconds_p50=round(common.percentile(per_job, 50), 2),
                job_seconds_max=round(per_job[-1], 2),
            )
        )
    finally:
        process.stop()
        for p in workers:
            p.stop()
        site.stop()
        emulator.stop()
        broker.stop()
    common.save("crunch-cabinet", rows)


if __name__ == "__main__":
    main()
