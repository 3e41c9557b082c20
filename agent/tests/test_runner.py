"""`qingka-agent run`: waiting for the site, the background scan/heartbeat/flush loop, and the
whole agent in a subprocess taking a job from Redis and stopping on SIGTERM."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from agent_fakes import BROKER, CLEAR_DUE, SHARES_BROKER, TOKEN, FakeDriver
from qingka_agent import runner, worker
from qingka_agent.client import SiteClient, SiteUnreachable
from qingka_agent.config import load
from qingka_agent.inventory import Inventory
from qingka_agent.outbox import Outbox
from qingka_agent.signing import sign, signing_key

NUMBER = "539912237528"
pytestmark = SHARES_BROKER


def test_wrong_token_is_fatal(site):
    with pytest.raises(runner.Fatal, match="QINGKA_AGENT_TOKEN"):
        runner.wait_for_site(SiteClient(site.url, "wrong"))


def test_waits_for_the_site_with_backoff(monkeypatch):
    answers = [SiteUnreachable("down"), SiteUnreachable("down"), {"queue": "agent.1"}]

    class Client:
        site_url = "http://site"

        def me(self):
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    delays = []
    monkeypatch.setattr(runner.time, "sleep", delays.append)
    assert runner.wait_for_site(Client()) == {"queue": "agent.1"}
    assert delays == [1, 2]


def test_background_heartbeats_flushes_and_reports_a_plug_in_at_once(site, tmp_path):
    driver = FakeDriver({NUMBER: CLEAR_DUE})
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.put(5, 1, {"attempt": 1, "outcome": "succeeded"})  # left over from before a restart
    agent = worker.Agent(SiteClient(site.url, TOKEN), outbox, Inventory([driver]), signing_key(TOKEN))
    config = load(env={"QINGKA_SCAN_SECONDS": "0.05", "QINGKA_HEARTBEAT_SECONDS": "60"})
    stop = threading.Event()
    thread = threading.Thread(target=runner.background, args=(agent, config, stop))
    thread.start()
    try:
        assert site.wait_for(lambda s: 5 in s.results())
        heartbeats = [body for _, path, body in site.calls if path == "heartbeat/"]
        assert [row["device_number"] for row in heartbeats[0]["devices"]] == [NUMBER]
        deadline = time.monotonic() + 5
        while outbox.pending() and time.monotonic() < deadline:  # the site records before it answers
            time.sleep(0.02)
        assert outbox.pending() == []
        driver.devices["661814461322"] = dict(CLEAR_DUE, device_number="661814461322")
        assert site.wait_for(lambda s: s.paths().count("heartbeat/") == 2, timeout=2)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


AGENT = """
import sys
sys.path.insert(0, sys.argv[1])
from agent_fakes import CLEAR_DUE, FakeDriver
from qingka_agent import cli, inventory
inventory.FACTORIES["fake"] = lambda config: FakeDriver({"539912237528": CLEAR_DUE})
sys.exit(cli.main(["run"]))
"""


def test_agent_runs_a_job_and_stops_on_sigterm(site, tmp_path):
    redis.Redis.from_url(BROKER).flushdb()
    env = dict(
        os.environ,
        QINGKA_SITE_URL=site.url,
        QINGKA_AGENT_TOKEN=TOKEN,
        QINGKA_BROKER_URL=BROKER,
        QINGKA_DRIVERS="fake",
        QINGKA_STATE_DIR=str(tmp_path),
        QINGKA_CONCURRENCY="2",
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", AGENT, str(Path(__file__).parent)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert site.wait_for(lambda s: "heartbeat/" in s.paths(), timeout=20)
        site.add_job(7, "clear", NUMBER)
        worker.configure(load(env={"QINGKA_BROKER_URL": BROKER}))
        worker.app.send_task("qingka.run_job", args=[7, 1, sign(signing_key(TOKEN), 7, 1)], queue="agent.1")
        assert site.wait_for(lambda s: 7 in s.results(), timeout=20)
        assert site.results()[7]["outcome"] == "succeeded"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        redis.Redis.from_url(BROKER).flushdb()
    assert proc.returncode == 0, output
    assert "job 7 attempt 1 device 539912237528: succeeded" in output
    assert "agent stopped" in output
    assert TOKEN not in output


def test_a_heartbeat_carries_a_reading_only_when_it_changed_and_all_once_a_minute(monkeypatch):
    from qingka_agent import runner

    now = [1000.0]
    monkeypatch.setattr(runner.time, "monotonic", lambda: now[0])
    readings = runner.Readings()

    def beat(rows):
        full = now[0] - readings.full_at >= runner.FULL_EVERY
        sent, digests = readings.rows(rows)
        readings.delivered(digests, full)
        return [row["monitoring"] for row in sent]

    row = {"device_number": "539912237528", "monitoring": {"kpjzsj": "2026-11-16", "clock": "10:00"}}
    assert beat([row]) == [row["monitoring"]]  # the first heartbeat carries every reading
    now[0] += 3
    assert beat([dict(row, monitoring={"kpjzsj": "2026-11-16", "clock": "10:03"})]) == [None]  # only the clock moved
    now[0] += 3
    changed = {"kpjzsj": "2026-12-15", "clock": "10:06"}
    assert beat([dict(row, monitoring=changed)]) == [changed]
    now[0] += runner.FULL_EVERY
    assert beat([dict(row, monitoring=changed)]) == [changed]  # once a minute, all of them
