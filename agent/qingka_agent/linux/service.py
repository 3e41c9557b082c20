"""`qingka-agent install-service` / `uninstall-service` on Linux: the systemd unit and the udev
rules shipped next to this file, a system user for the service, and the service started."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from importlib import resources
from pathlib import Path

USER = "qingka-agent"
UNIT = Path("/etc/systemd/system/qingka-agent.service")
RULES = Path("/etc/udev/rules.d/70-qingka-agent.rules")


class ServiceError(Exception):
    pass


def shipped(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def unit_text(executable: Path, config: Path) -> str:
    return shipped("qingka-agent.service").replace("@EXECUTABLE@", str(executable)).replace("@CONFIG@", str(config))


def _under(root: Path | None, path: Path) -> Path:
    return path if root is None else root / path.relative_to("/")


def _run(*argv: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


def install(executable: Path, config: Path, root: Path | None = None) -> list[Path]:
    """Writes the unit and the udev rules. With `root` (a staging directory, as for a package) it
    writes them under it and does nothing else; without, it also makes the user, lets it read the
    config file, reloads udev and systemd and starts the service."""
    if root is None:
        if os.geteuid() != 0:
            raise ServiceError("install-service needs root: sudo qingka-agent install-service")
        if not config.is_file():
            raise ServiceError(f"{config} does not exist: write it first with qingka-agent init")
    files = {UNIT: unit_text(executable, config), RULES: shipped("70-qingka-agent.rules")}
    written = []
    for path, text in files.items():
        target = _under(root, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    if root is None:
        try:
            pwd.getpwnam(USER)
        except KeyError:
            _run("useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", USER)
        os.chown(config, 0, grp.getgrnam(USER).gr_gid)  # the token inside stays hidden from others
        config.chmod(0o640)
        _run("udevadm", "control", "--reload-rules")
        _run("udevadm", "trigger", "--subsystem-match=usb", "--action=add")
        _run("systemctl", "daemon-reload")
        _run("systemctl", "enable", "--now", UNIT.name)
    return written


def uninstall(root: Path | None = None) -> list[Path]:
    """Stops and removes the service and the udev rules; the user, the config file, the state
    (/var/lib/qingka-agent) and the logs (/var/log/qingka-agent) stay (docs/agent.md)."""
    if root is None:
        if os.geteuid() != 0:
            raise ServiceError("uninstall-service needs root: sudo qingka-agent uninstall-service")
        subprocess.run(["systemctl", "disable", "--now", UNIT.name], capture_output=True)
    removed = []
    for path in (UNIT, RULES):
        target = _under(root, path)
        if target.exists():
            target.unlink()
            removed.append(target)
    if root is None:
        _run("systemctl", "daemon-reload")
        _run("udevadm", "control", "--reload-rules")
    return removed
