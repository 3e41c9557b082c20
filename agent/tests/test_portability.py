"""The agent runs on Windows PCs: no POSIX-only call outside its Linux-specific modules."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "agent" / "qingka_agent"
# Linux-specific by design: the linux package, and the simulated cabinet (demos and tests, whose
# device locks are Linux's open file description locks) with its `sim` commands.
LINUX_ONLY = ("linux/", "drivers/simulated.py", "simctl.py")

# "Availability: Unix" (not Windows) in the Python 3.11 documentation of these modules.
POSIX_MODULES = {"fcntl", "grp", "pwd", "spwd", "crypt", "termios", "tty", "pty", "resource", "syslog", "posix"}
# fmt: off
POSIX_NAMES = {
    "os": {
        "fork", "forkpty", "killpg", "setsid", "getsid", "setpgid", "setpgrp", "getpgid", "getpgrp", "getuid",
        "geteuid", "getgid", "getegid", "setuid", "seteuid", "setgid", "setegid", "getgroups", "setgroups",
        "initgroups", "chown", "lchown", "fchown", "fchmod", "chroot", "nice", "sync", "mkfifo", "mknod", "major",
        "minor", "makedev", "pipe2", "sched_getaffinity", "sched_setaffinity", "getloadavg", "uname", "wait",
        "wait3", "wait4", "waitid", "WNOHANG", "openpty", "ttyname", "statvfs", "fstatvfs", "pread", "pwrite",
        "posix_spawn", "posix_spawnp", "register_at_fork", "getpriority", "setpriority", "O_NOFOLLOW", "O_DIRECTORY",
        "O_NONBLOCK", "O_SYNC", "sendfile", "memfd_create",
    },
    "signal": {
        "SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGPIPE", "SIGSTOP", "SIGCONT",
        "SIGTSTP", "SIGWINCH", "alarm", "pause", "setitimer", "getitimer", "siginterrupt", "pthread_kill",
        "pthread_sigmask", "sigwait", "sigpending",
    },
    "socket": {
        "AF_UNIX", "SO_REUSEPORT", "sethostname",
    },
}
# fmt: on
POSIX_KEYWORDS = {"start_new_session", "preexec_fn", "pass_fds", "process_group", "user", "group", "extra_groups"}


def portable_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if not name.startswith(LINUX_ONLY):
            yield name, ast.parse(path.read_text(encoding="utf-8"))


def posix_only_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in POSIX_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in POSIX_MODULES:
                found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names if a.name in POSIX_NAMES.get(node.module, ())]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in POSIX_NAMES.get(node.value.id, ()):
                found.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Popen":
            found += [f"Popen({k.arg}=)" for k in node.keywords if k.arg in POSIX_KEYWORDS]
    return found


def test_no_posix_only_call_outside_the_linux_specific_modules():
    found = {name: uses for name, tree in portable_modules() if (uses := posix_only_uses(tree))}
    assert found == {}


def test_the_scan_finds_what_it_looks_for():
    tree = ast.parse(
        "import fcntl, os, signal, subprocess\nfrom os import killpg\n"
        "os.killpg(1, signal.SIGKILL)\nsubprocess.Popen(['x'], start_new_session=True)\n"
    )
    assert sorted(posix_only_uses(tree)) == [
        "Popen(start_new_session=)",
        "fcntl",
        "os.killpg",
        "os.killpg",
        "signal.SIGKILL",
    ]


def test_the_agent_imports_where_posix_modules_are_missing():
    """On a Windows-like interpreter (sys.platform win32, POSIX-only modules absent), the modules a
    Windows PC runs import, and pick the Windows process handling."""
    code = (
        "import sys, subprocess, multiprocessing.reduction, logging.handlers\n"
        "import billiard, celery.worker, kombu.transport.redis, httpx, yaml, usb.core, pythonjsonlogger.json\n"
        f"for name in {sorted(POSIX_MODULES)!r}: sys.modules[name] = None\n"
        "sys.platform = 'win32'\n"
        "import qingka_agent.cli, qingka_agent.runner, qingka_agent.drivers.command, qingka_agent.usb\n"
        "from qingka_agent.system import processes\n"
        "print(processes.__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "qingka_agent.windows.processes"
