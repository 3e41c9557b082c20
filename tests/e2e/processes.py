"""Real processes for end-to-end tests: the agent, the rq worker and the sweeper's scheduler."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_until(predicate, timeout=60, interval=0.25, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Process:
    """A child process in its own process group, its output in a log file the test can show."""

    def __init__(self, name, argv, env, log_dir: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.popen = None

    def start(self):
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    def kill(self, sig=signal.SIGKILL):
        if self.send(sig):
            self.wait()

    def send(self, sig) -> bool:
        """Sends `sig` to the process group if the process still runs; whether it did."""
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            return True
        return False

    def wait(self, timeout=20):
        """Waits for the process to end, and kills it after `timeout` seconds."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def stop(self):
        self.kill(signal.SIGTERM)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def stop_all(processes) -> None:
    """SIGTERM to each of them, then each waited for: they shut down side by side, not one by one."""
    for process in [p for p in processes if p.send(signal.SIGTERM)]:
        process.wait()


def run(argv, env, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def open_to_embedded_postgres(path: Path) -> Path:
    """As root, the demo's embedded PostgreSQL runs as an unprivileged user who must pass through
    every directory above its data (config/embedded_postgres.py); pytest's base is 0700."""
    if os.geteuid() == 0:
        for parent in (path.resolve(), *path.resolve().parents):
            if parent.stat().st_uid == 0 and not parent.stat().st_mode & 0o001:
                parent.chmod(parent.stat().st_mode | 0o001)
    return path


def clean_checkout(target: Path) -> Path:
    """The files git tracks, as they are in the work tree: no var/, no .venv, nothing generated."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target
