"""`qingka-agent run`: waiting for the site, the background scan/heartbeat/flush loop, and the
whole agent in a subprocess taking a job from Redis and stopping on SIGTERM."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

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


def test_a_cabinet_slow_to_scan_is_scanned_less_often(monkeypatch):
    monkeypatch.setattr(runner, "heartbeat", lambda agent, reported: None)

    class Timed(Inventory):
        def __init__(self, takes: float):
            super().__init__([])
            self.takes, self.scans = takes, 0

        def scan(self) -> bool:
            time.sleep(self.takes)
            self.scans += 1
            return False

    config = load(env={"QINGKA_SCAN_SECONDS": "0.01", "QINGKA_HEARTBEAT_SECONDS": "60"})

    def scans_of(takes: float, enough: int, then_wait: float) -> int:
        """The scans of a cabinet whose scan takes `takes` s: once `enough` are done (10 s at most,
        so a busy machine only slows it), and `then_wait` s later."""
        inventory = Timed(takes)
        agent = SimpleNamespace(inventory=inventory, client=None, outbox=SimpleNamespace(flush=lambda client: 0))
        stop = threading.Event()
        thread = threading.Thread(target=runner.background, args=(agent, config, stop))
        thread.start()
        deadline = time.monotonic() + 10
        while inventory.scans < enough and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(then_wait)
        stop.set()
        thread.join(5)
        return inventory.scans

    assert scans_of(0.0, enough=10, then_wait=0) >= 10  # every 10 ms: ten come long before 10 s
    assert scans_of(0.02, enough=1, then_wait=1.0) == 1  # the next one 0.02 s / SCAN_SHARE = 4 s later


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


ROW = {"slot": "sim-1", "kind": "ukey", "driver": "simulated", "device_number": NUMBER, "simulated": True}


def beats(monkeypatch, reported):
    """A heartbeat's rows as sent, the clock moved on 3 s after each."""
    now = [1000.0]
    monkeypatch.setattr(runner.time, "monotonic", lambda: now[0])

    def beat(rows):
        sent, full, site_has = reported.prepare(rows)
        reported.delivered(site_has, full)
        now[0] += 3
        return sent, full

    return beat, now


def test_a_partial_heartbeat_carries_only_the_devices_that_changed(monkeypatch):
    beat, now = beats(monkeypatch, runner.Reported(partial_allowed=True))
    other = dict(ROW, slot="sim-2", device_number="661814461322", busy=False, monitoring=None)
    row = dict(ROW, busy=False, monitoring={"kpjzsj": "2026-11-16", "clock": "10:00"})
    assert beat([row, other]) == ([row, other], True)  # the first: every device, every reading
    assert beat([dict(row, monitoring={"kpjzsj": "2026-11-16", "clock": "10:03"}), other]) == ([], False)
    busy = dict(row, busy=True)
    assert beat([busy, other]) == ([dict(busy, monitoring=None)], False)  # its reading did not change
    changed = dict(busy, monitoring={"kpjzsj": "2026-12-15", "clock": "10:09"})
    assert beat([changed, other]) == ([changed], False)
    assert beat([changed]) == ([changed], True)  # one was pulled out: all of them
    now[0] += runner.FULL_EVERY
    assert beat([changed]) == ([changed], True)  # and once a minute


def test_between_two_scans_each_reading_is_stripped_of_its_clock_once(monkeypatch):
    stripped = []
    monkeypatch.setattr(runner, "_without_clock", lambda monitoring: stripped.append(monitoring) or dict(monitoring))
    beat, _ = beats(monkeypatch, runner.Reported(partial_allowed=True))
    scanned = [dict(ROW, busy=False, monitoring={"kpjzsj": "2026-11-16", "clock": "10:00"})]
    assert beat(scanned) == (scanned, True)
    assert beat([dict(scanned[0], busy=True)]) == ([dict(scanned[0], busy=True, monitoring=None)], False)
    assert stripped == [scanned[0]["monitoring"]]  # the second heartbeat's row shares the reading
    rescanned = [dict(ROW, busy=True, monitoring={"kpjzsj": "2026-11-16", "clock": "10:00"})]
    assert beat(rescanned) == ([], False)  # a new reading object, the same reading
    assert len(stripped) == 2


def test_two_rows_with_one_identity_do_not_stop_the_heartbeats(monkeypatch):
    beat, _ = beats(monkeypatch, runner.Reported(partial_allowed=True))
    row = dict(ROW, busy=False, monitoring=None)
    assert beat([row, row]) == ([row, row], True)
    assert beat([row, dict(row, busy=True)]) == ([dict(row, busy=True)], False)


def test_a_site_that_takes_no_partial_heartbeats_gets_every_device(monkeypatch):
    beat, _ = beats(monkeypatch, runner.Reported(partial_allowed=False))
    row = dict(ROW, busy=False, monitoring=None)
    assert beat([row]) == ([row], True)
    assert beat([row]) == ([row], True)
