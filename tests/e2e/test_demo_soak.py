"""The demo as people run it (`make demo`, nothing set) for a few minutes: the site, its rq worker
and sweeper, the agent with its simulated cabinet, the embedded Redis and the embedded PostgreSQL.
All along the agent stays online; at the end a 读取状态 asked through the API makes the round trip
to the agent and back; no process has logged a Traceback, and the site answered no 5xx.

(On SQLite, the demo's engine until it was removed, the agent's heartbeats answered 500 within a
minute and the agent went 离线.)"""

import time

import pytest

from tests.e2e.live_demo import LiveDemo
from tests.e2e.processes import wait_until

pytestmark = pytest.mark.integration
SOAK_SECONDS = 120
# Stricter than the default 30 s: three missed heartbeats (3 s apart) and the agent is offline.
OFFLINE_SECONDS = "10"


def test_the_demo_keeps_its_agent_online_and_runs_a_job(short_tmp_path):
    with LiveDemo(short_tmp_path, QINGKA_AGENT_OFFLINE_SECONDS=OFFLINE_SECONDS) as demo:
        printed = demo.printed()
        assert "内置 PostgreSQL embedded" in printed, printed
        http = demo.signed_in()
        try:
            wait_until(lambda: http.get("/healthz").json()["agents_online"] == 1, timeout=60, what="the agent online")
            readings = []
            until = time.monotonic() + SOAK_SECONDS
            while time.monotonic() < until:
                health = http.get("/healthz")
                readings.append((round(SOAK_SECONDS - (until - time.monotonic())), health.status_code, health.json()))
                assert health.json()["agents_online"] == 1, readings[-5:]
                assert health.json()["database"] == "ok" and health.json()["redis"] == "ok", readings[-5:]
                time.sleep(3)
            assert not demo.server_errors(), demo.server_errors()[:5]

            # an ordinary client (the demo's deliberate faults are told in the client's notes)
            client = next(c for c in http.get("/api/v1/clients/?page_size=50").json()["results"] if not c["notes"])
            device = http.get(f"/api/v1/devices/?client={client['id']}").json()["results"][0]
            asked = http.post("/api/v1/jobs/", json={"kind": "read_status", "device": device["id"]})
            assert asked.status_code == 201, asked.text
            [job] = asked.json()["jobs"]
            job = wait_until(
                lambda: (j := http.get(f"/api/v1/jobs/{job['id']}/").json())["state"] in ("succeeded", "failed") and j,
                timeout=60,
                what="the 读取状态 job",
            )
            assert job["state"] == "succeeded", job
            assert http.get("/healthz").json()["agents_online"] == 1
        finally:
            http.close()
        assert demo.stop() == 0, demo.printed()[-3000:]
    assert not demo.tracebacks(), demo.tracebacks()
    assert not demo.server_errors(), demo.server_errors()[:5]
