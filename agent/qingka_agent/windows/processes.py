import subprocess


def popen_options() -> dict:
    return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}


def kill_tree(proc: subprocess.Popen) -> None:
    """The child and every process it started (taskkill /T), then the child for certain."""
    subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
    proc.kill()
