"""The on-disk outbox: idempotent, ordered, kept until the site has the result."""

import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from qingka_agent.client import NotClaimable, NotFound, ServerError, SiteClient, SiteUnreachable
from qingka_agent.outbox import BATCH_BYTES, BATCH_ENTRIES, MAX_TRIES, Outbox, backoff


class RecordingClient:
    """Answers results() per job: None for 200, or the exception given for it. `fails` makes a
    whole call raise: always, or (a callable) for the calls it picks."""

    def __init__(self, answers=None, fails=None):
        self.answers = answers or {}
        self.fails = fails
        self.calls = []

    @property
    def sent(self):
        return [entry for call in self.calls for entry in call]

    def results(self, results):
        self.calls.append([(job_id, result["attempt"]) for job_id, result in results])
        failure = self.fails(results) if callable(self.fails) else self.fails
        if failure:
            raise failure
        return {job_id: self.answers.get(job_id) for job_id, _ in results}


def result(attempt=1, outcome="succeeded"):
    return {
        "attempt": attempt,
        "outcome": outcome,
        "already_done": False,
        "error_code": None,
        "raw_code": None,
        "message": "",
        "monitoring": {"kpjzsj": "2026-12-15"},
        "started_at": "2026-11-05T01:00:00+00:00",
        "finished_at": "2026-11-05T01:00:05+00:00",
    }


def test_insert_is_idempotent_per_job_and_attempt(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.put(7, 1, result(1))
    outbox.put(7, 1, result(1, outcome="failed"))
    outbox.put(7, 2, result(2))
    assert [(job, attempt, body["outcome"]) for job, attempt, body in outbox.pending()] == [
        (7, 1, "succeeded"),
        (7, 2, "succeeded"),
    ]


def test_flush_sends_in_order_and_deletes_on_200(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    for job_id in (3, 1, 2):
        outbox.put(job_id, 1, result())
    client = RecordingClient()
    assert outbox.flush(client) == 3
    assert client.calls == [[(3, 1), (1, 1), (2, 1)]]  # in one call
    assert outbox.pending() == []


def test_refused_results_are_deleted(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.put(1, 1, result())
    outbox.put(2, 1, result())
    assert outbox.flush(RecordingClient({1: NotClaimable("409"), 2: NotFound("404")})) == 2
    assert outbox.pending() == []


def test_kept_while_the_site_is_down(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.put(1, 1, result())
    outbox.put(2, 1, result())
    client = RecordingClient(fails=SiteUnreachable("ConnectError"))
    assert outbox.flush(client) == 0
    assert client.calls == [[(1, 1), (2, 1)]]  # tried once, not one by one
    assert [job for job, _, _ in outbox.pending()] == [1, 2]
    assert outbox.flush(RecordingClient()) == 2


def test_kept_on_connection_refused(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.put(1, 1, result())
    client = SiteClient("http://127.0.0.1:9", "tok", timeout=2)  # discard port: nothing listens
    assert outbox.flush(client) == 0
    assert len(outbox.pending()) == 1


def test_a_call_the_site_fails_on_is_sent_again_one_by_one_and_only_its_culprit_waits(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    for job_id in (1, 2, 3):
        outbox.put(job_id, 1, result())
    client = RecordingClient(fails=lambda results: ServerError("HTTP 500") if 2 in dict(results) else None)
    assert outbox.flush(client) == 2
    assert client.calls == [[(1, 1), (2, 1), (3, 1)], [(1, 1)], [(2, 1)], [(3, 1)]]
    assert [job for job, _, _ in outbox.pending()] == [2]
    assert outbox.flush(client) == 0  # 2 waits its back-off


def test_calls_are_bounded_in_entries_and_bytes_and_carry_one_entry_per_job(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    for job_id in range(1, BATCH_ENTRIES + 51):
        outbox.put(job_id, 1, result())
    client = RecordingClient()
    assert outbox.flush(client) == BATCH_ENTRIES + 50
    assert [len(call) for call in client.calls] == [BATCH_ENTRIES, 50]
    outbox.put(1, 2, result(2))
    outbox.put(1, 3, result(3))  # the same job again: the site answers per job, so in the next call
    outbox.put(2, 1, {**result(), "invoices": ["x" * BATCH_BYTES]})  # too big to share a call
    outbox.put(3, 1, result())
    client = RecordingClient()
    assert outbox.flush(client) == 4
    assert client.calls == [[(1, 2)], [(1, 3)], [(2, 1)], [(3, 1)]]


def test_survives_a_killed_process(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    code = (
        "import os, signal, sys; from pathlib import Path; from qingka_agent.outbox import Outbox; "
        "Outbox(Path(sys.argv[1])).put(7, 1, {'attempt': 1, 'outcome': 'succeeded'}); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)])
    assert proc.returncode == -9
    assert Outbox(path).pending() == [(7, 1, {"attempt": 1, "outcome": "succeeded"})]


def test_one_failing_entry_does_not_hold_up_the_others_and_is_parked_at_last(tmp_path):
    now = [1000.0]
    outbox = Outbox(tmp_path / "outbox.sqlite3", clock=lambda: now[0])
    for job_id in (1, 2, 3):
        outbox.put(job_id, 1, result())
    client = RecordingClient({1: ServerError("HTTP 500")})
    assert outbox.flush(client) == 2  # 2 and 3 went, 1 waits
    assert [job for job, _, _ in outbox.pending()] == [1]
    assert outbox.flush(client) == 0 and client.sent.count((1, 1)) == 1  # not due yet
    for tries in range(2, MAX_TRIES + 1):
        now[0] += backoff(tries - 1)
        outbox.flush(client)
    assert client.sent.count((1, 1)) == MAX_TRIES
    assert outbox.pending() == [] and outbox.parked() == [1]  # kept, not sent again
    now[0] += 10_000
    outbox.put(4, 1, result())
    assert outbox.flush(client) == 1 and client.sent.count((1, 1)) == MAX_TRIES


def test_an_outbox_of_an_earlier_version_is_upgraded(tmp_path):
    import sqlite3

    path = tmp_path / "outbox.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE results (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL,"
            " attempt INTEGER NOT NULL, body TEXT NOT NULL, UNIQUE (job_id, attempt))"
        )
        db.execute("INSERT INTO results (job_id, attempt, body) VALUES (5, 1, '{\"attempt\": 1}')")
    assert Outbox(path).pending() == [(5, 1, {"attempt": 1})]


def test_results_put_while_another_is_written_share_one_commit(tmp_path, monkeypatch):
    """Each commit syncs the disk: the results waiting behind a write go together in the next one,
    and each put() returns only once its result is on disk."""
    statements = []
    connect = sqlite3.connect

    def traced(*args, **kwargs):
        db = connect(*args, **kwargs)
        db.set_trace_callback(statements.append)
        return db

    monkeypatch.setattr(sqlite3, "connect", traced)
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    statements.clear()
    with outbox._writing:  # a write under way: the puts below wait for it
        threads = [threading.Thread(target=outbox.put, args=(job_id, 1, result())) for job_id in range(20)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(outbox._storing) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
    for thread in threads:
        thread.join()
    assert statements.count("COMMIT") == 1
    assert sorted(job_id for job_id, _, _ in Outbox(tmp_path / "outbox.sqlite3").pending()) == list(range(20))


def test_results_a_failed_write_took_are_written_by_the_next_put(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path)
    with sqlite3.connect(path) as db:  # the disk refuses job 13's write once
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON results WHEN NEW.job_id = 13 BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
    with pytest.raises(sqlite3.IntegrityError):
        outbox.put(13, 1, result())
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER refuse")
    outbox.put(14, 1, result())
    assert [job_id for job_id, _, _ in Outbox(path).pending()] == [13, 14]
