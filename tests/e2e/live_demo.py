"""`manage.py demo` as people run it, from a clean checkout on its embedded defaults (no
DATABASE_URL, no REDIS_URL: the embedded PostgreSQL and Redis), for the soak test and the browser's
crawl of the live demo."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from apps.demo.stack import free_port
from tests.e2e.processes import clean_checkout, open_to_embedded_postgres, wait_until

LOGS_WITHOUT_TRACEBACK = ("site", "rqworker", "sweeper", "agent", "postgres", "redis")


def demo_environment(checkout: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINGKA_")}
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "DEBUG", "SECURE_HTTPS", "SECRET_KEY"):
        env.pop(name, None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    # The .venv's interpreter, but the checkout's code: the site's and the agent's; DEBUG as `make demo` sets it.
    return {**env, "PYTHONPATH": f"{checkout}:{checkout / 'agent'}", "PYTHONUNBUFFERED": "1", "DEBUG": "1", **extra}


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


class LiveDemo:
    def __init__(self, base: Path, *args: str, **env: str):
        self.checkout = clean_checkout(open_to_embedded_postgres(base) / "checkout")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = base / "demo.out"
        self.argv = [sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{self.port}", *args]
        self.env = demo_environment(self.checkout, **env)
        self.popen: subprocess.Popen | None = None
        self.logs = self.checkout / "var" / "demo" / "logs"

    def __enter__(self) -> "LiveDemo":
        with open(self.output, "wb") as out:
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
