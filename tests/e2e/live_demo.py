"""`manage.py demo` as people run it, from a clean checkout on its embedded defaults (no
DATABASE_URL, no REDIS_URL: the embedded PostgreSQL and Redis), shared by the tests marked
SHARED_DEMO (the soak, the demo command's own checks and the browser's crawl): starting the
whole product takes a minute on a 2-core machine, so a pytest process starts it once.

It runs on a set clock, DEMO_NOW, a few seconds before November's 抄报 opens, so the autopilot's
first pass runs while the tests use it; /healthz is read every 3 s from when the agent is first
online until Ctrl-C, and Ctrl-C at the end must stop every process cleanly, with no process having
logged a Traceback and the site having answered no 5xx (stop_and_check)."""

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from apps.demo.stack import free_port
from apps.periods.rules import SHANGHAI
from tests.e2e.processes import clean_checkout, open_to_embedded_postgres, wait_until

LOGS_WITHOUT_TRACEBACK = ("site", "rqworker", "sweeper", "agent", "postgres", "redis")
# Under xdist (`--dist loadgroup`) the tests sharing the demo run on one worker, so one demo starts.
SHARED_DEMO = pytest.mark.xdist_group("live_demo")
DEMO_NOW = "2026-12-01T00:04:30"  # the demo's set clock, which every child process must read
# Stricter than the default 30 s: three missed heartbeats (3 s apart) and the agent is offline.
OFFLINE_SECONDS = "10"
HEALTH_EVERY = 3


def demo_environment(checkout: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINGKA_")}
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "DEBUG", "SECURE_HTTPS", "SECRET_KEY"):
        env.pop(name, None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    # The .venv's interpreter, but the checkout's code: the site's and the agent's; DEBUG as `make demo` sets it.
    return {**env, "PYTHONPATH": f"{checkout}:{checkout / 'agent'}", "PYTHONUNBUFFERED": "1", "DEBUG": "1", **extra}


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def healthy(reading: dict) -> bool:
    """A /healthz reading with the agent online, the database and Redis answering."""
    answer = reading["answer"]
    online = isinstance(answer, dict) and answer.get("agents_online") == 1
    return online and answer["database"] == answer["redis"] == "ok"


class HealthWatch:
    """/healthz read every HEALTH_EVERY seconds in a thread of its own, each reading kept."""

    def __init__(self, url: str):
        self.url = url
        self.readings: list[dict] = []
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="healthz watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        with httpx.Client(base_url=self.url, timeout=15) as http:
            while True:
                second = round(time.monotonic() - self.started)
                try:
                    response = http.get("/healthz")
                    answer: dict | str = response.json()
                except (httpx.HTTPError, ValueError) as error:
                    answer = f"{type(error).__name__}: {error}"
                self.readings.append({"second": second, "answer": answer})
                if self._stop.wait(HEALTH_EVERY):
                    return

    def over(self, seconds: float) -> list[dict]:
        """The readings once they span `seconds`."""
        wait_until(
            lambda: self.readings and self.readings[-1]["second"] >= seconds,
            timeout=seconds + 60,
            what=f"{seconds} s of /healthz readings",
        )
        return list(self.readings)

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(timeout=30)
        return list(self.readings)


class LiveDemo:
    def __init__(self, base: Path, *args: str, **env: str):
        self.checkout = clean_checkout(open_to_embedded_postgres(base) / "checkout")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = base / "demo.out"
        self.argv = [sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{self.port}", *args]
        self.env = demo_environment(self.checkout, **env)
        self.popen: subprocess.Popen | None = None
        self.launched = 0.0
        self.children: list[psutil.Process] = []
        self.commands: list[str] = []
        self.logs = self.checkout / "var" / "demo" / "logs"

    def __enter__(self) -> "LiveDemo":
        with open(self.output, "wb") as out:
            self.launched = time.time()
            self.popen = subprocess.Popen(
                self.argv,
                cwd=self.checkout,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(lambda: "Ctrl-C" in self.printed() or self.popen.poll() is not None, timeout=240, what="the demo")
        assert self.popen.poll() is None, self.printed()
        self.children = psutil.Process(self.popen.pid).children(recursive=True)
        self.commands = [" ".join(c.cmdline()) for c in self.children]  # as started: some end soon after
        return self

    def printed(self) -> str:
        return self.output.read_text(errors="replace")

    def stop(self) -> int:
        """Ctrl-C, as a person stops it; its exit status."""
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode

    def __exit__(self, *exc) -> None:
        self.stop()
        for child in self.children:
            if child.is_running():
                child.kill()

    def on_its_clock(self, stamp: str, since: str) -> bool:
        """`stamp` was read from the demo's set clock (started at `since` when the demo was launched)
        after it was launched: not before `since`, not later than `since` plus the time since then."""
        moment, start = (dt.datetime.fromisoformat(s) for s in (stamp, since))
        moment, start = (m if m.tzinfo else m.replace(tzinfo=SHANGHAI) for m in (moment, start))
        return start <= moment <= start + dt.timedelta(seconds=time.time() - self.launched)

    def tracebacks(self) -> dict[str, str]:
        """Each process log holding a Traceback, with the lines around the first one."""
        found = {}
        for name in LOGS_WITHOUT_TRACEBACK:
            path = self.logs / f"{name}.log"
            text = path.read_text(errors="replace") if path.exists() else ""
            if "Traceback" in text:
                at = text.index("Traceback")
                found[name] = text[max(0, at - 300) : at + 3000]
        return found

    def server_errors(self) -> list[str]:
        """The site's 5xx answers, from its request log; /healthz answers 503 by design until the
        agent is online and the first sweep is done."""
        path = self.logs / "site.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return [line for line in lines if re.search(r'HTTP/1\.\d" 5\d\d ', line) and "/healthz " not in line]

    def signed_in(self, username: str = "admin", password: str = "qingka-demo") -> httpx.Client:
        http = httpx.Client(base_url=self.url, timeout=15)
        login_page = http.get("/accounts/login/")
        http.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": csrf_token(login_page.text)},
        )
        http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
        assert http.get("/api/v1/clients/").status_code == 200
        return http


class SharedDemo(LiveDemo):
    """The one demo of a pytest process, on DEMO_NOW, its /healthz watched from when the agent is online."""

    health: HealthWatch

    def __init__(self, base: Path):
        super().__init__(base, "--now", DEMO_NOW, QINGKA_AGENT_OFFLINE_SECONDS=OFFLINE_SECONDS)

    def __enter__(self) -> "SharedDemo":
        super().__enter__()
        with httpx.Client(base_url=self.url, timeout=15) as http:
            wait_until(lambda: http.get("/healthz").json()["agents_online"] == 1, timeout=60, what="the agent online")
        self.health = HealthWatch(self.url)
        return self

    def stop_and_check(self) -> None:
        """Ctrl-C stops everything and the demo exits 0; all along the agent stayed online."""
        readings = self.health.stop()
        assert all(healthy(r) for r in readings), [r for r in readings if not healthy(r)][:5]
        assert self.stop() == 0, self.printed()[-3000:]
        assert not [c for c in self.children if c.is_running()], "a process outlived the demo's Ctrl-C"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{self.url}/healthz")
        assert not self.tracebacks(), self.tracebacks()
        assert not self.server_errors(), self.server_errors()[:5]


@contextmanager
def short_directory() -> Iterator[Path]:
    """A fresh directory with a short path, for a demo's var dir: the embedded PostgreSQL's Unix
    socket (var/pg/socket/.s.PGSQL.5432) must stay under 104 bytes, which pytest's own temporary
    paths (…/popen-gw1/test_<long name>0/…) do not under xdist."""
    path = Path(tempfile.mkdtemp(prefix="qk-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
