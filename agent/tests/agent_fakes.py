"""A fake device driver and a fake site for the agent's tests (plain pytest, no Django)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from qingka_agent.drivers.base import FoundDevice

TOKEN = "test-agent-token"
# The tests that send through a real broker use Redis database 15 from this process and flush it:
# under make test-fast one xdist worker runs all of them.
BROKER = "redis://127.0.0.1:6379/15"
SHARES_BROKER = pytest.mark.xdist_group("broker-db-15")
CERT_PASSWORD = "cert-secret-4711"
DEVICE_PASSWORD = "device-secret-0815"

# Period 2026-10, worked in November 2026.
SUMMARY_DUE = {"zxbsrq": "2026-10-03", "kpjzsj": "2026-11-16"}  # 待抄报
CLEAR_DUE = {"zxbsrq": "2026-11-02", "kpjzsj": "2026-11-16"}  # 待清卡
DONE = {"zxbsrq": "2026-11-02", "kpjzsj": "2026-12-15"}  # 已完成


class FakeDriver:
    """Devices held in memory; records every operation with the secrets it was given."""

    name = "simulated"

    def __init__(self, devices: dict[str, dict], slow: float = 0):
        self.devices = {
            number: {"device_number": number, "summary_count": 0, "clear_count": 0, **state}
            for number, state in devices.items()
        }
        self.calls: list[tuple] = []
        self.fail: dict[str, Exception] = {}  # operation name -> exception to raise
        self.extra: dict[str, dict] = {}  # operation name -> fields added to what it returns
        self.slow = slow
        self.running = 0
        self.max_running = 0
        self._lock = threading.Lock()

    def discover(self) -> list[FoundDevice]:
        return [
            FoundDevice(
                slot=f"sim-{i}",
                kind="tax_disk",
                driver="simulated",
                device_number=number,
                simulated=True,
                monitoring=dict(state),
            )
            for i, (number, state) in enumerate(self.devices.items(), start=1)
        ]

    def _op(self, op: str, number: str, period, secrets) -> dict:
        with self._lock:
            self.calls.append((op, number, period, secrets.certificate_password, secrets.device_password))
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            time.sleep(self.slow)
            if op in self.fail:
                raise self.fail[op]
            state = self.devices[number]
            if op == "upload_summary":
                state.update(zxbsrq="2026-11-02", summary_count=state["summary_count"] + 1)
            elif op == "clear":
                state.update(kpjzsj="2026-12-15", clear_count=state["clear_count"] + 1)
            return {**state, **self.extra.get(op, {})}
        finally:
            with self._lock:
                self.running -= 1

    def read_status(self, number, secrets):
        return self._op("read_status", number, None, secrets)

    def upload_summary(self, number, period, secrets):
        return self._op("upload_summary", number, period, secrets)

    def clear(self, number, period, secrets):
        return self._op("clear", number, period, secrets)

    def operations(self) -> list[str]:
        return [call[0] for call in self.calls]


class FakeSite:
    """The agent API on a real socket: answers me, heartbeat, jobs/claim and jobs/results, and
    records every call."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: list[tuple[str, str, dict | None]] = []
        self.jobs: dict[int, dict] = {}
        self.claim_status: dict[int, int] = {}
        self.claim_seconds = 0.0  # how long a claim call takes
        self.result_status = 200  # of a whole results call
        self.result_statuses: dict[int, int] = {}  # of one job's result within it
        self.received = threading.Condition()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict | None = None):
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                path = self.path.removeprefix("/api/v1/agent/")
                with site.received:
                    site.calls.append((method, path, body))
                    site.received.notify_all()
                if self.headers.get("Authorization") != f"Agent {site.token}":
                    return self._answer(401, {"detail": "bad token"})
                if path == "me/":
                    return self._answer(200, {"id": 1, "name": "测试前置机", "queue": "agent.1", "lease_seconds": 600})
                if path == "heartbeat/":
                    return self._answer(
                        200,
                        {
                            "agent": {"id": 1, "name": "测试前置机", "queue": "agent.1"},
                            "server_time": "2026-11-05T09:00:00+08:00",
                        },
                    )
                if path == "jobs/claim/":
                    time.sleep(site.claim_seconds)
                    claimed, refused = [], []
                    for item in body["jobs"]:
                        status = site.claim_status.get(item["id"], 200 if item["id"] in site.jobs else 404)
                        if status == 200:
                            claimed.append(site.claimed(item["id"], item["attempt"]))
                        else:
                            refused.append({"id": item["id"], "status": status, "detail": "refused"})
                    return self._answer(200, {"jobs": claimed, "refused": refused})
                if path == "jobs/results/":
                    if site.result_status != 200:
                        return self._answer(site.result_status)
                    statuses = [(item["job"], site.result_statuses.get(item["job"], 200)) for item in body["results"]]
                    return self._answer(200, {"results": [{"job": job, "status": st} for job, st in statuses]})
                return self._answer(404)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def add_job(self, job_id: int, kind: str, device_number: str, period: str | None = "2026-10"):
        self.jobs[job_id] = {"kind": kind, "period": period, "number": device_number}

    def claimed(self, job_id: int, attempt: int) -> dict:
        job = self.jobs[job_id]
        return {
            "id": job_id,
            "kind": job["kind"],
            "attempt": attempt,
            "period": job["period"],
            "lease_expires_at": "2026-11-05T09:10:00+08:00",
            "device": {
                "number": job["number"],
                "kind": "tax_disk",
                "slot": "sim-1",
                "sub_number": 0,
                "simulated": True,
                "certificate_password": CERT_PASSWORD,
                "device_password": DEVICE_PASSWORD,
            },
        }

    def paths(self, method: str = "POST") -> list[str]:
        return [path for m, path, _ in self.calls if m == method]

    def claims(self) -> list[list[int]]:
        """The job ids of each claim call."""
        return [[item["id"] for item in body["jobs"]] for _, path, body in self.calls if path == "jobs/claim/"]

    def reported(self) -> list[list[int]]:
        """The job ids of each results call."""
        return [[item["job"] for item in body["results"]] for _, path, body in self.calls if path == "jobs/results/"]

    def results(self) -> dict[int, dict]:
        """The last result sent for each job."""
        return {
            item["job"]: item for _, path, body in self.calls if path == "jobs/results/" for item in body["results"]
        }

    def wait_for(self, predicate, timeout: float = 10) -> bool:
        with self.received:
            return self.received.wait_for(lambda: predicate(self), timeout)
