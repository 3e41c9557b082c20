"""The on-disk outbox: idempotent, ordered, kept until the site has the result."""

import subprocess
import sys

from qingka_agent.client import NotClaimable, NotFound, SiteClient, SiteUnreachable
from qingka_agent.outbox import Outbox


class RecordingClient:
    """Answers result() per job: None for 200, or the exception to raise."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.sent = []

    def result(self, job_id, result):
        self.sent.append((job_id, result["attempt"]))
        if self.answers.get(job_id):
            raise self.answers[job_id]


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
    assert client.sent == [(3, 1), (1, 1), (2, 1)]
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
    client = RecordingClient({1: SiteUnreachable("HTTP 502")})
    assert outbox.flush(client) == 0
    assert client.sent == [(1, 1)]  # no point trying the next one
    assert [job for job, _, _ in outbox.pending()] == [1, 2]
    assert outbox.flush(RecordingClient()) == 2


def test_kept_on_connection_refused(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.put(1, 1, result())
    client = SiteClient("http://127.0.0.1:9", "tok", timeout=2)  # discard port: nothing listens
    assert outbox.flush(client) == 0
    assert len(outbox.pending()) == 1


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
