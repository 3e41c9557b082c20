"""The agent's settings: environment variables, optionally a TOML or YAML file; the environment wins.

A file uses the same names, with or without the QINGKA_ prefix and in any case
(`site_url = "https://…"` or `QINGKA_SITE_URL: https://…`).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Where `init` writes and `run`, `check` and the service read when no --config is given.
if sys.platform == "win32":
    DEFAULT_PATH = Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "qingka-agent" / "agent.toml"
else:
    DEFAULT_PATH = Path("/etc/qingka-agent/agent.toml")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    site_url: str
    token: str = field(repr=False)
    broker_url: str
    drivers: tuple[str, ...]
    sim_devices: Path | None
    state_dir: Path
    command: tuple[str, ...]
    command_timeout: float
    concurrency: int
    heartbeat_seconds: float
    scan_seconds: float
    command_list: bool = False  # QINGKA_COMMAND_LIST: the tool answers the optional `list`
    cabinet: dict = field(default_factory=dict)  # QINGKA_CABINET_* (docs/cabinet.md)
    uhubctl: tuple[str, ...] = ()  # QINGKA_UHUBCTL: 重新上电 of local USB ports through uhubctl
    power_settle: float = 5.0  # QINGKA_POWER_SETTLE: seconds for a device to start after uhubctl

    def require_site(self) -> None:
        """`run` and `check` talk to the site; `devices` does not."""
        for name, value in (("QINGKA_SITE_URL", self.site_url), ("QINGKA_AGENT_TOKEN", self.token)):
            if not value:
                raise ConfigError(f"{name} is not set (environment or --config file)")


def _read_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    values = {}
    for key, value in data.items():
        name = str(key).upper()
        if not name.startswith("QINGKA_"):
            name = "QINGKA_" + name
        values[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return values


def _number(values: Mapping[str, str], name: str, default: str, kind: type):
    raw = values.get(name) or default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, not {raw!r}")
    return value


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    values = _read_file(path) if path else {}
    values.update({k: v for k, v in (os.environ if env is None else env).items() if k.startswith("QINGKA_")})
    drivers = tuple(d.strip() for d in (values.get("QINGKA_DRIVERS") or "usb").split(",") if d.strip())
    if not drivers:
        raise ConfigError("QINGKA_DRIVERS lists no driver")
    sim_devices = values.get("QINGKA_SIM_DEVICES")
    return Config(
        site_url=values.get("QINGKA_SITE_URL", "").rstrip("/"),
        token=values.get("QINGKA_AGENT_TOKEN", ""),
        broker_url=values.get("QINGKA_BROKER_URL") or "redis://127.0.0.1:6379/0",
        drivers=drivers,
        sim_devices=Path(sim_devices).expanduser() if sim_devices else None,
        state_dir=Path(values.get("QINGKA_STATE_DIR") or "~/.local/state/qingka-agent").expanduser(),
        command=tuple(shlex.split(values.get("QINGKA_COMMAND", ""))),
        command_timeout=_number(values, "QINGKA_COMMAND_TIMEOUT", "120", float),
        concurrency=_number(values, "QINGKA_CONCURRENCY", "4", int),
        heartbeat_seconds=_number(values, "QINGKA_HEARTBEAT_SECONDS", "3", float),
        scan_seconds=_number(values, "QINGKA_SCAN_SECONDS", "2", float),
        command_list=values.get("QINGKA_COMMAND_LIST", "").lower() in ("1", "true", "yes"),
        cabinet=_cabinet(values),
        uhubctl=tuple(shlex.split(values.get("QINGKA_UHUBCTL", ""))),
        power_settle=_number(values, "QINGKA_POWER_SETTLE", "5", float),
    )


def _cabinet(values: Mapping[str, str]) -> dict:
    """The cabinet driver's settings; checked when the driver is built."""
    return {
        "broker_url": values.get("QINGKA_CABINET_BROKER_URL", ""),
        "terminals": [t.strip() for t in values.get("QINGKA_CABINET_TERMINALS", "").split(",") if t.strip()],
        "reply_topic": values.get("QINGKA_CABINET_REPLY_TOPIC", ""),
        "username": values.get("QINGKA_CABINET_USERNAME") or None,
        "password": values.get("QINGKA_CABINET_PASSWORD") or None,
        "ca_file": values.get("QINGKA_CABINET_CA_FILE") or None,
        "cert_file": values.get("QINGKA_CABINET_CERT_FILE") or None,
        "key_file": values.get("QINGKA_CABINET_KEY_FILE") or None,
        "timeout": _number(values, "QINGKA_CABINET_TIMEOUT", "15", float),
        "operation_timeout": _number(values, "QINGKA_CABINET_OPERATION_TIMEOUT", "300", float),
        "simulated": values.get("QINGKA_CABINET_SIMULATED", "").lower() in ("1", "true", "yes"),
    }


def write(path: Path, values: dict[str, str]) -> None:
    """A TOML file of settings, readable by its owner only (it holds the token)."""
    lines = ["# qingka-agent settings, written by `qingka-agent init` (docs/agent.md). The environment wins."]
    lines += [f"{name} = {json.dumps(value, ensure_ascii=False)}" for name, value in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
