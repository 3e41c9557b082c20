import os
import signal
import subprocess


def popen_options() -> dict:
    """A child in its own session, so kill_tree reaches everything it starts."""
    return {"start_new_session": True}


def kill_tree(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
