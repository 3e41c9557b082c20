"""Child processes a command starts and must stop again, every one of them (`manage.py demo`).

Each child runs in its own session, so a Ctrl-C in the terminal reaches only the parent, which
then stops the children in reverse order of starting: what depends on a service stops before it.
A child that does not stop in time is killed with its whole process group (an rq work horse, a
vendor tool), so nothing is left running.
"""

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    log_path: Path
    stop_signal: int = signal.SIGTERM

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Supervisor:
    def __init__(self, log_dir: Path, cwd: Path, stop_timeout: float = 20):
        self.log_dir, self.cwd, self.stop_timeout = log_dir, cwd, stop_timeout
        self.children: list[Child] = []

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, stop_signal: int = signal.SIGTERM
    ) -> Child:
        """Starts `argv` with this process's environment as it is now, plus `env`; `stop` sends it
        `stop_signal` (PostgreSQL: SIGINT, its fast shutdown, which does not wait for clients)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(name, popen, log_path, stop_signal)
        self.children.append(child)
        return child

    def exited(self) -> Child | None:
        """The first child that has ended, if any has."""
        return next((child for child in self.children if not child.running()), None)

    def stop(self) -> None:
        while self.children:
            child = self.children.pop()
            if child.running():
                child.popen.send_signal(child.stop_signal)
                try:
                    child.popen.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    pass
            # The child's own children (in its process group) go with it, whether it ended or not.
            try:
                os.killpg(child.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.popen.wait()
