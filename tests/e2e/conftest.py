import datetime as dt
import json
import os
import signal

import pytest
import redis
import yaml
from django.db import connection

from apps.clients.models import Client
from apps.core import clock
from apps.devices.models import Agent, Device
from apps.jobs.models import Job
from tests.conftest import TEST_REDIS_URL
from tests.factories import credit_code, make_agent

from .processes import BIN, Process, run, stop_all, wait_until

SITE_SETTINGS = {  # shared by the live server (through `settings`) and the site's worker processes
    "QINGKA_JOB_LEASE_SECONDS": 8,
    "QINGKA_RETRY_BASE_SECONDS": 0.5,
    "QINGKA_AGENT_OFFLINE_SECONDS": 10,
    "QINGKA_RESEND_AFTER_SECONDS": 30,
    "QINGKA_SWEEP_SECONDS": 1,
    "QINGKA_AUTOPILOT_SECONDS": 1,
}


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Stack:
    """The live site, its rq worker and sweeper, and agents in their own processes."""

    def __init__(self, site_url, tmp_path, settings):
        self.site_url, self.tmp_path, self.settings = site_url, tmp_path, settings
        self.processes, self.cabinets = [], []
        self.site_env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": TEST_REDIS_URL,
            **{k: str(v) for k, v in SITE_SETTINGS.items()},
            # the webhooks a test listed (the `webhook` fixture, asked for before `stack`) reach the workers too
            "NOTIFY_WEBHOOK_HOSTS": ",".join(settings.QINGKA_NOTIFY_WEBHOOK_HOSTS),
        }

    def start(self, name, argv, env):
        process = Process(name, argv, env, self.tmp_path).start()
        self.processes.append(process)
        return process

    def start_site_workers(self):
        python = str(BIN / "python")
        self.start("rqworker", [python, "manage.py", "rqworker", "default"], self.site_env)
        self.start("sweeper", [python, "manage.py", "run_sweeper"], self.site_env)

    def cabinet(self, name, devices, **extra) -> "Cabinet":
        self.cabinets.append(Cabinet(self, name, devices, extra))
        return self.cabinets[-1]

    def set_clock(self, moment: str) -> None:
        """Runs the whole stack on one clock set to `moment`: the live site at once, its workers
        and the agents (with their simulated cabinets) restarted on it."""
        setting = clock.setting_for(dt.datetime.fromisoformat(moment))
        self.settings.QINGKA_CLOCK = setting
        stop_all(self.processes)
        for process in self.processes:
            process.env = {**process.env, "QINGKA_CLOCK": setting}
        self.site_env["QINGKA_CLOCK"] = setting
        for cabinet in self.cabinets:
            cabinet.env["QINGKA_CLOCK"] = setting
        for process in self.processes:
            process.start()

    def stop(self):
        stop_all(reversed(self.processes))

    def logs(self) -> str:
        return "\n".join(f"===== {p.name} =====\n{p.log()[-6000:]}" for p in self.processes)


class Cabinet:
    """A simulated cabinet with its devices file and state dir, and the agent that holds it."""

    def __init__(self, stack, name, devices, extra):
        self.stack, self.name = stack, name
        self.agent, self.token = make_agent(name)
        self.devices_file = stack.tmp_path / f"{name}.yaml"
        self.state_dir = stack.tmp_path / f"{name}-state"
        self.devices_file.write_text(yaml.safe_dump({"devices": devices, **extra}, allow_unicode=True))
        self.env = {
            **stack.site_env,
            "QINGKA_SITE_URL": stack.site_url,
            "QINGKA_AGENT_TOKEN": self.token,
            "QINGKA_BROKER_URL": TEST_REDIS_URL,
            "QINGKA_DRIVERS": "simulated",
            "QINGKA_SIM_DEVICES": str(self.devices_file),
            "QINGKA_STATE_DIR": str(self.state_dir),
            "QINGKA_CONCURRENCY": "4",
            "QINGKA_HEARTBEAT_SECONDS": "1",
            "QINGKA_SCAN_SECONDS": "1",
        }
        self.process = None

    def sim(self, *args):
        result = run([str(BIN / "qingka-agent"), "sim", *args], self.env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def simulated_devices(self) -> dict:
        return {row["monitoring"]["device_number"]: row for row in json.loads(self.sim("show", "--json"))["devices"]}

    def start_agent(self, expect_devices: int):
        self.process = self.stack.start(f"agent-{self.name}", [str(BIN / "qingka-agent"), "run"], self.env)
        return self.wait_online(expect_devices)

    def wait_online(self, expect_devices: int):
        """The agent online with its devices present, as seen since the last (re)start."""
        Agent.objects.filter(pk=self.agent.pk).update(online=False)
        wait_until(
            lambda: (
                Device.objects.filter(agent=self.agent, present=True).count() == expect_devices
                and Agent.objects.get(pk=self.agent.pk).online
            ),
            timeout=60,
            what=f"{self.name} online with its devices",
        )
        return self.process

    def kill_agent(self):
        self.process.kill(signal.SIGKILL)


def register_clients(specs):
    """Clients and their devices on the site, as staff would enter them."""
    devices = []
    for spec in specs:
        client = Client.objects.create(
            name=spec["name"], taxpayer_id=spec["taxpayer_id"], taxpayer_kind=spec.get("taxpayer_kind", "general")
        )
        devices.append(
            Device.objects.create(
                client=client,
                kind=spec["kind"],
                number=spec["device_number"],
                certificate_password=spec.get("site_certificate_password", ""),
            )
        )
    return devices


def device_spec(n, kind="tax_disk", nature="01", **extra):
    return {
        "device_number": f"53{n:010d}",
        "kind": kind,
        "taxpayer_id": credit_code(5000 + n),
        "taxpayer_nature": nature,
        "slot": f"sim-{n}",
        **extra,
    }


def wait_for_jobs(jobs, timeout=120):
    """The jobs once all have finished, fresh from the database."""
    ids = [job.pk for job in jobs]

    def finished():
        rows = list(Job.objects.filter(pk__in=ids).order_by("pk"))
        return rows if all(row.state in ("succeeded", "failed", "cancelled") for row in rows) else None

    return wait_until(finished, timeout=timeout, what=f"jobs {ids} to finish")


@pytest.fixture
def stack(live_server, settings, tmp_path, published_deadlines, request):
    """The live stack; `@pytest.mark.clock("2026-11-23T10:00+08:00")` runs all of it, the site,
    its workers, the agents and their simulated cabinets, on one clock set to that moment."""
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    for name, value in SITE_SETTINGS.items():
        setattr(settings, name, value)
    stack = Stack(live_server.url, tmp_path, settings)
    if marker := request.node.get_closest_marker("clock"):
        stack.set_clock(marker.args[0])
    stack.start_site_workers()
    yield stack
    stack.stop()
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        print(stack.logs())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
