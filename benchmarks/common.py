"""What every benchmark shares: its own database and Redis, the site under gunicorn, agents as real
processes, data built in bulk, and one way to write a figure down.

A benchmark script imports this module first: `setup(database)` points Django at that database
(created and migrated when missing) before any model is imported.
"""

import atexit
import datetime as dt
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
VAR = ROOT / "var" / "bench"
RESULTS = VAR / "results"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
GUNICORN_WORKERS = 3  # as the Dockerfile runs the site

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "agent"))

from tests.e2e import processes  # noqa: E402 (the end-to-end tests' processes, once on sys.path)
from tests.e2e.processes import wait_until  # noqa: E402

SUFFIX = os.environ.get("BENCH_DB_SUFFIX", "")  # to measure another checkout beside this one


def database_url(name: str) -> str:
    return f"{PG}/{name}{SUFFIX}"


def site_env(database: str, **extra) -> dict:
    """The environment of the site's processes and of the benchmark itself."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "REDIS_URL": REDIS_URL,
        "QINGKA_VAR_DIR": str(VAR),
        "DEBUG": "0",
        "SECURE_HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'agent'}",
        **{k: str(v) for k, v in extra.items()},
    }


def setup(database: str, **extra) -> None:
    """Django on `database` (created and migrated if missing), static files collected once."""
    os.environ.update(site_env(database, **extra))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    subprocess.run(
        ["psql", PG + "/postgres", "-qc", f"CREATE DATABASE {database}{SUFFIX}"], capture_output=True, check=False
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not (VAR / "static" / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)
    _require_own_key(database)


def _require_own_key(database: str) -> None:
    """Stops with a plain message when another checkout filled this database: its secrets are
    encrypted under that checkout's key (its var/bench), and reading them would end in a traceback."""
    from cryptography.fernet import InvalidToken

    from apps.core.fields import encrypted_fields

    try:
        for model, names in encrypted_fields():
            model.objects.exclude(**{names[0]: ""}).only(*names).first()
    except InvalidToken:
        sys.exit(
            f"{database}{SUFFIX} was filled by another checkout, under another key than {VAR}'s: "
            f"drop it (dropdb -h 127.0.0.1 -U postgres {database}{SUFFIX}), or give this checkout "
            "databases of its own with BENCH_DB_SUFFIX=_<name>"
        )


# --- figures ---------------------------------------------------------------------------------


def machine() -> str:
    load1, _, _ = os.getloadavg()
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores, {memory:.1f} GiB, load {load1:.2f}"


class CpuBusy:
    """The machine's CPU use over a `with` block, in percent of all its cores (/proc/stat): `percent`
    what ran here, `steal` what the host of this virtual machine gave to others meanwhile (on a
    shared host it took up to a fifth of the time, and the figures vary with it). `by_process`: the
    share of one core each named group of processes took (`processes`: name → pids; PostgreSQL
    and Redis are found by name), for the processes alive from start to end."""

    def __init__(self, processes: dict[str, list[int]] | None = None):
        self.processes = processes or {}

    def __enter__(self):
        self.start, self.started, self.start_by = self._times(), time.monotonic(), self._process_times()
        return self

    def __exit__(self, *exc):
        idle, steal, total = (end - start for end, start in zip(self._times(), self.start, strict=True))
        self.percent = 100 * (total - idle - steal) / total if total else 0.0
        self.steal = 100 * steal / total if total else 0.0
        elapsed, end_by = time.monotonic() - self.started, self._process_times()
        self.by_process = {
            name: 100 * sum(end_by[name][pid] - start for pid, start in pids.items() if pid in end_by[name]) / elapsed
            for name, pids in self.start_by.items()
        }

    def shares(self) -> str:
        return ", ".join(f"{name} {share:.0f}%" for name, share in self.by_process.items())

    def _process_times(self) -> dict[str, dict[int, float]]:
        groups = {**self.processes, "PostgreSQL": [], "Redis": []}
        for process in psutil.process_iter(["name"]):
            if process.info["name"] in ("postgres", "redis-server"):
                groups["PostgreSQL" if process.info["name"] == "postgres" else "Redis"].append(process.pid)
        times: dict[str, dict[int, float]] = {}
        for name, pids in groups.items():
            times[name] = {}
            for pid in pids:
                try:
                    cpu = psutil.Process(pid).cpu_times()
                except psutil.NoSuchProcess:
                    continue
                times[name][pid] = cpu.user + cpu.system
        return times

    @staticmethod
    def _times() -> tuple[int, int, int]:
        fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return fields[3] + fields[4], fields[7], sum(fields)  # idle and iowait; steal; everything


def figure(number, name, what, size, value, unit, target, met, command, **extra) -> dict:
    """One measured figure beside its target; the runner gathers them into docs/benchmarks.*"""
    row = {
        "number": number,
        "name": name,
        "what": what,
        "size": size,
        "value": round(value, 3) if isinstance(value, float) else value,
        "unit": unit,
        "target": target,
        "met": bool(met),
        "machine": machine(),
        "command": command,
        **extra,
    }
    print(f"  {name}: {row['value']} {unit} (target {target}) {'met' if met else 'MISSED'}", flush=True)
    return row


def save(script: str, rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{script}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1))


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


_started: list["Process"] = []


def _stop_all() -> None:
    for process in reversed(_started):
        process.stop()


atexit.register(_stop_all)  # an interrupted benchmark leaves no site, worker or agent behind
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))


class Process(processes.Process):
    """A child process of the benchmark, its output in var/bench/logs/<name>.log, stopped when
    the benchmark ends however it ends."""

    def __init__(self, name: str, argv: list[str], env: dict):
        (VAR / "logs").mkdir(parents=True, exist_ok=True)
        super().__init__(name, argv, env, VAR / "logs")

    def start(self) -> "Process":
        super().start()
        _started.append(self)
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid


class Gunicorn(Process):
    """The site as production runs it: the Dockerfile's command, on a port of its own."""

    def __init__(self, database: str, workers: int = GUNICORN_WORKERS, **extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [
            str(BIN / "gunicorn"),
            "-c",
            "config/gunicorn.py",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
        ]
        super().__init__(f"gunicorn-{database}", argv, site_env(database, **extra))

    def start(self) -> "Gunicorn":
        super().start()
        import httpx

        def answers():
            try:
                return httpx.get(self.url + "/accounts/login/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout=60, what="gunicorn to answer")
        return self

    def worker_pids(self) -> list[int]:
        return children(self.pid)


def site_process(name: str, database: str, *args, **extra) -> Process:
    return Process(name, [str(BIN / "python"), "manage.py", *args], site_env(database, **extra))


def agent_env(site_url: str, token: str, devices_file: Path, state_dir: Path, concurrency: int, **extra) -> dict:
    return {
        **os.environ,
        "QINGKA_SITE_URL": site_url,
        "QINGKA_AGENT_TOKEN": token,
        "QINGKA_BROKER_URL": REDIS_URL,
        "QINGKA_DRIVERS": "simulated",
        "QINGKA_SIM_DEVICES": str(devices_file),
        "QINGKA_STATE_DIR": str(state_dir),
        "QINGKA_CONCURRENCY": str(concurrency),
        "PYTHONPATH": str(ROOT / "agent"),
        **{k: str(v) for k, v in extra.items()},
    }


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def analyze() -> None:
    """Planner statistics as autovacuum keeps them in production. This machine's PostgreSQL runs
    with autovacuum off, so statistics taken while a run resets its devices (none with an agent)
    would stay: the planner then expects one device per agent and walks every device of the agent
    for each job it claims (a 0.4 ms look-up took 20 ms). Called once the agents hold their devices."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


# --- data --------------------------------------------------------------------------------------


def credit_code(n: int) -> str:
    from apps.demo.seed import demo_credit_code  # after common.setup(): Django is ready only then

    return demo_credit_code(n)


def device_number(prefix: int, n: int) -> str:
    return f"{prefix:02d}{n:010d}"


def fill_ukeys(count: int, name: str, first_code: int, prefix: int) -> None:
    """`count` clients ("<name>0000" …), each with one UKey numbered device_number(prefix, n) and the
    default passwords; nothing when the database has them from an earlier run."""
    from django.db import transaction

    from apps.clients.models import Client
    from apps.devices.models import Device

    if Client.objects.count() >= count:
        return
    with transaction.atomic():
        clients = Client.objects.bulk_create(
            [
                Client(name=f"{name}{n:04d}", taxpayer_id=credit_code(first_code + n), taxpayer_kind="general")
                for n in range(count)
            ]
        )
        devices = [Device(client=c, kind="ukey", number=device_number(prefix, n)) for n, c in enumerate(clients)]
        for device in devices:
            device.certificate_password, device.device_password = "12345678", "88888888"
        Device.objects.bulk_create(devices)


def fill_month_end(count: int, name: str, first_code: int, number, month: dt.date) -> None:
    """The crunch's firm: `count` clients ("<name>0000有限公司" …), each with one 税控盘 numbered
    number(n), the default passwords and a period for `month`; nothing when an earlier run made it."""
    from django.db import transaction

    from apps.accounts.models import User
    from apps.clients.models import Client
    from apps.devices.models import Device
    from apps.filing_calendar.models import period_deadline
    from apps.periods.models import Period

    if Client.objects.count() >= count:
        return
    User.objects.get_or_create(username="bench-admin", defaults={"role": User.Role.ADMIN})
    with transaction.atomic():
        clients = Client.objects.bulk_create(
            [
                Client(name=f"{name}{n:04d}有限公司", taxpayer_id=credit_code(first_code + n), taxpayer_kind="general")
                for n in range(count)
            ]
        )
        devices = [Device(client=c, kind="tax_disk", number=number(n)) for n, c in enumerate(clients)]
        for device in devices:
            device.certificate_password, device.device_password = "12345678", "88888888"
        Device.objects.bulk_create(devices)
        deadline = period_deadline(month).date
        Period.objects.bulk_create([Period(client=c, month=month, deadline=deadline) for c in clients])


def reset_month_end(return_filed_on: dt.date) -> None:
    """Every run starts from the same month: no job, nothing summarised or cleared, the return filed."""
    from django.db import connection

    from apps.jobs.models import Job
    from apps.periods.models import Period
    from apps.scheduling.models import Batch

    Job.objects.all().delete()
    Batch.objects.all().delete()
    unplug_devices(busy=False, monitoring=None, monitored_at=None, slot="")
    Period.objects.update(summary_uploaded_at=None, cleared_at=None, return_filed_on=return_filed_on)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    flush_redis()


def physical_limit(devices: int, job_seconds: float, slots: int) -> float:
    """The least wall time the devices alone allow: jobs of equal length run in waves of `slots`, so
    240 jobs on 32 slots take 8 waves, not 7.5."""
    return math.ceil(devices / slots) * job_seconds


def unplug_devices(**fields) -> None:
    """Every device out of its cabinet and never seen, with `fields` reset too. Never seen: a device
    seen before and absent now is reported missing in the filing season, and the site's sending of
    those notifications would run beside the measurement."""
    from apps.devices.models import Device

    Device.objects.update(agent=None, present=False, last_seen_at=None, **fields)


def sim_devices_file(path: Path, specs: list[dict], **extra) -> Path:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"devices": specs, **extra}, allow_unicode=True))
    return path


def inventory_rows(specs: list[dict], state_dir: Path) -> list[dict]:
    """Inventory rows as a simulated cabinet of these devices reports them (monitoring included)."""
    from qingka_agent.drivers.simulated import SimulatedDriver

    devices_file = sim_devices_file(state_dir / "devices.yaml", specs)
    return [found.as_inventory() for found in SimulatedDriver(devices_file, state_dir).discover()]


def make_agent(name: str):
    """The agent of that name (kept between runs: the audit log refers to it), with a new token."""
    from apps.devices.models import Agent

    agent = Agent.objects.filter(name=name).first() or Agent(name=name)
    token = agent.set_new_token()
    agent.online, agent.last_heartbeat_at = False, None
    agent.save()
    return agent, token


def site_workers(database: str, **extra) -> list[Process]:
    """The site's background processes as compose runs them: the rq worker and the sweeper."""
    return [
        site_process(f"rqworker-{database}", database, "rqworker", "default", **extra).start(),
        site_process(f"sweeper-{database}", database, "run_sweeper", **extra).start(),
    ]


def set_clock(moment: str) -> str:
    """A QINGKA_CLOCK value that reads `moment` now (apps/core/clock.py)."""
    return f"{moment}@{time.time():.3f}"


def session_cookie(user) -> dict:
    """A logged-in session for `user`, as the login page would leave it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {settings.SESSION_COOKIE_NAME: session.session_key}


def shanghai(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)
