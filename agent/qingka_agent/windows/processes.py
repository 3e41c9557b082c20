import subprocess


def popen_options() -> dict:
    # Imported on Windows only (qingka_agent.system); mypy checks as on Linux, which lacks the flag.
    return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]


def kill_tree(proc: subprocess.Popen) -> None:
    """The child and every process it started (taskkill /T), then the child for certain."""
    subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
    proc.kill()
