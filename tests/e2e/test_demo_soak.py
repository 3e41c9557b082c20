"""The demo as people run it (`make demo` on its embedded defaults) for a few minutes: the site, its rq worker
and sweeper, the agent with its simulated cabinet, the embedded Redis and the embedded PostgreSQL.
All along the agent stays online (the shared demo's /healthz readings, from when the agent is first
online until Ctrl-C, while the autopilot's first pass and the other tests run on it); at the end a
读取状态 asked through the API makes the round trip to the agent and back; no process has logged a
Traceback, and the site answered no 5xx (checked here and again when the shared demo stops).

(On SQLite, the demo's engine until it was removed, the agent's heartbeats answered 500 within a
minute and the agent went 离线.)"""

import pytest

from tests.e2e.live_demo import SHARED_DEMO, healthy
from tests.e2e.processes import wait_until

pytestmark = [pytest.mark.integration, SHARED_DEMO]
SOAK_SECONDS = 120


def test_the_demo_keeps_its_agent_online_and_runs_a_job(live_demo):
    demo = live_demo
    printed = demo.printed()
    assert "内置 PostgreSQL embedded" in printed, printed
    http = demo.signed_in()
    try:
        readings = demo.health.over(SOAK_SECONDS)
        assert all(healthy(r) for r in readings), [r for r in readings if not healthy(r)][:5]
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
    assert not demo.tracebacks(), demo.tracebacks()
    assert not demo.server_errors(), demo.server_errors()[:5]
