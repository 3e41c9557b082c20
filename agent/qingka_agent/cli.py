"""`qingka-agent init | check | run | devices | install-service | uninstall-service` (and `sim …`
when the simulator's commands are installed)."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import unicodedata
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from kombu import Connection

from . import config as settings
from . import logs
from .client import SiteClient, SiteError, SiteUnreachable, Unauthorised
from .config import ConfigError, load
from .drivers.base import KIND_NAMES
from .inventory import Inventory, build_drivers
from .runner import Fatal, run


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]]) -> str:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def config_path(args) -> Path | None:
    """--config, else the file `init` writes when it exists, else none (the environment alone)."""
    if args.config:
        return args.config
    return settings.DEFAULT_PATH if settings.DEFAULT_PATH.is_file() else None


def cmd_run(args) -> int:
    return run(load(config_path(args)))


def cmd_devices(args) -> int:
    inventory = Inventory(build_drivers(load(config_path(args))))
    inventory.scan()
    if args.json:
        print(json.dumps(inventory.rows, ensure_ascii=False, indent=2))
        return 0
    if not inventory.rows:
        print("没有发现设备 (no devices found)")
        return 0
    rows = [["类型 kind", "槽位 slot", "设备编号 number", "驱动 driver", "模拟 simulated"]]
    for row in inventory.rows:
        kind = f"{KIND_NAMES[row['kind']]} {row['kind']}" if row["kind"] else "未知 unknown"
        rows.append(
            [kind, row["slot"], row["device_number"] or "未知", row["driver"], "模拟" if row["simulated"] else ""]
        )
    print(_table(rows))
    return 0


def cmd_init(args) -> int:
    path = args.config or settings.DEFAULT_PATH
    site = urlsplit(args.site)
    if site.scheme not in ("http", "https") or not site.hostname:
        raise ConfigError(f"--site must be the site's address, like https://qingka.example.com, not {args.site!r}")
    if not args.token.strip():
        raise ConfigError("--token is empty: copy the token shown when the agent was registered")
    broker = args.broker or f"redis://{site.hostname}:6379/0"
    parts = urlsplit(broker)
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(f"--broker must be a redis:// or rediss:// URL, not {broker!r}")
    if args.broker_user or args.broker_password:
        # The agent's own Redis user, shown with its token (docs/agent.md), never the site's.
        if parts.username or parts.password:
            raise ConfigError(
                "give the broker's user and password either in --broker or as --broker-user/--broker-password"
            )
        if not (args.broker_user and args.broker_password):
            raise ConfigError("--broker-user and --broker-password go together")
        netloc = f"{quote(args.broker_user, safe='')}:{quote(args.broker_password, safe='')}@{parts.netloc}"
        broker = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    if path.exists() and not args.force:
        raise ConfigError(f"{path} exists already: give --force to replace it")
    values = {"site_url": args.site.rstrip("/"), "agent_token": args.token.strip(), "broker_url": broker}
    values["drivers"] = args.drivers
    if args.command:
        values["command"] = args.command
    try:
        settings.write(path, values)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path}: {exc.strerror} (run as administrator/root, or give --config)"
        ) from None
    print(f"wrote {path}")
    print("next: qingka-agent check" + (f" --config {path}" if args.config else ""))
    return 0


def usb_lines(config) -> list[tuple[bool, str]]:
    """Can this process see and open the tax-control devices? Asked only of drivers that use USB."""
    if not {"usb", "command"} & set(config.drivers):
        return []
    from .usb import UsbUnavailable, access_problems, scan

    try:
        found, problems = scan(), access_problems()
    except UsbUnavailable as exc:
        return [(False, f"USB unavailable: {exc}")]
    lines = [(True, f"USB: {len(found)} tax-control device(s) found")]
    lines += [
        (False, f"USB: cannot open the device at {slot}: {why} (Linux: sudo qingka-agent install-service)")
        for slot, why in sorted(problems.items())
    ]
    return lines


def cmd_install_service(args) -> int:
    if sys.platform == "win32":
        print("On Windows, run the agent as a service with NSSM: docs/agent.md, section Windows.", file=sys.stderr)
        return 2
    from .linux import service

    # This very program: the console script that was run, or the one beside the interpreter.
    executable = (
        Path(sys.argv[0])
        if Path(sys.argv[0]).name == "qingka-agent"
        else Path(sys.executable).with_name("qingka-agent")
    )
    try:
        written = service.install(executable.absolute(), (args.config or settings.DEFAULT_PATH).resolve(), args.root)
    except service.ServiceError as exc:
        raise Fatal(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    if args.root is None:
        print("started: systemctl status qingka-agent; logs: journalctl -u qingka-agent")
    return 0


def cmd_uninstall_service(args) -> int:
    if sys.platform == "win32":
        print("On Windows: nssm remove qingka-agent confirm (docs/agent.md, section Windows).", file=sys.stderr)
        return 2
    from .linux import service

    try:
        removed = service.uninstall(args.root)
    except service.ServiceError as exc:
        raise Fatal(str(exc)) from None
    for path in removed:
        print(f"removed {path}")
    return 0


def cmd_check(args) -> int:
    config = load(config_path(args))
    config.require_site()
    lines = []
    client = SiteClient(config.site_url, config.token, timeout=5)
    try:
        me = client.me()
    except Unauthorised:
        lines += [
            (True, f"site reachable: {config.site_url}"),
            (False, "token rejected: the site does not know QINGKA_AGENT_TOKEN (revoked or mistyped?)"),
        ]
    except SiteUnreachable as exc:
        lines += [(False, f"site unreachable: {exc}"), (False, "token not checked: the site did not answer")]
    except SiteError as exc:
        lines += [(True, f"site answers: {config.site_url}"), (False, f"token not checked: {exc}")]
    else:
        agent = f"agent {me.get('name')} (id {me.get('id')}), queue {me.get('queue')}"
        lines += [(True, f"site reachable: {config.site_url}"), (True, f"token accepted: {agent}")]
    finally:
        client.close()
    broker = Connection(config.broker_url, connect_timeout=5)
    try:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=5)
        lines.append((True, f"broker reachable: {broker.as_uri()}"))
    except Exception as exc:
        lines.append((False, f"broker unreachable: {broker.as_uri()}: {exc}"))
    finally:
        broker.release()
    lines += usb_lines(config)
    for ok, text in lines:
        print(("✓ " if ok else "✗ ") + text)
    return 0 if all(ok for ok, _ in lines) else 1


def _common_options(parser: argparse.ArgumentParser, default) -> argparse.ArgumentParser:
    # Accepted before and after the command; a separate option each, as argparse shares parents' actions.
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        help=f"TOML or YAML file with settings (the environment wins); default {settings.DEFAULT_PATH} if it exists",
    )
    parser.add_argument("--log-format", choices=["plain", "json"], default=default, help="plain lines or JSON lines")
    parser.add_argument("--log-file", type=Path, default=default, help="also log to this file, rotated at 10 MB")
    parser.add_argument(
        "--system-log",
        action="store_true",
        default=default,
        help="log to the systemd journal (Linux) or the event log (Windows) instead of stderr",
    )
    return parser


COMMANDS = (
    ("init", cmd_init, "write the config file: site, token, broker"),
    ("check", cmd_check, "is the site reachable, the token accepted, the broker reachable, USB usable?"),
    ("run", cmd_run, "run the agent"),
    ("devices", cmd_devices, "list the devices found now"),
    ("install-service", cmd_install_service, "Linux: install the systemd service and the udev rules, start it"),
    ("uninstall-service", cmd_uninstall_service, "Linux: stop and remove the service and the udev rules"),
)


def main(argv: list[str] | None = None) -> int:
    parser = _common_options(
        argparse.ArgumentParser(prog="qingka-agent", description="清卡 on-premise agent (前置机)"), None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func, text in COMMANDS:
        command = _common_options(commands.add_parser(name, help=text), argparse.SUPPRESS)
        command.set_defaults(func=func)
        if name == "devices":
            command.add_argument("--json", action="store_true", help="print the inventory rows as JSON")
        if name == "init":
            command.add_argument("--site", required=True, help="the site's address, e.g. https://qingka.example.com")
            command.add_argument("--token", required=True, help="the token shown when the agent was registered")
            command.add_argument(
                "--broker",
                help="the Redis the site sends jobs through, with this agent's own user as shown with its token "
                "(redis://agent-<id>:<password>@host:6379/0; default redis://<site host>:6379/0)",
            )
            command.add_argument("--broker-user", help="this agent's own broker user (agent-<id>), if not in --broker")
            command.add_argument("--broker-password", help="that user's password, if not in --broker")
            command.add_argument("--drivers", default="usb", help="comma list of usb, command, simulated (default usb)")
            command.add_argument("--command", help="the vendor tool for the command driver (docs/command-driver.md)")
            command.add_argument("--force", action="store_true", help="replace an existing config file")
        if name.endswith("install-service"):
            command.add_argument("--root", type=Path, help="write the files under this directory only (packaging)")
    try:
        simctl = importlib.import_module(f"{__package__}.simctl")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.simctl":
            raise
    else:
        simctl.add_sim_commands(commands)

    args = parser.parse_args(argv)
    try:
        logs.setup(
            logging.INFO if args.command == "run" else logging.WARNING,
            args.log_format or "plain",
            args.log_file,
            args.system_log,
        )
    except (OSError, RuntimeError) as exc:
        print(f"qingka-agent: cannot set up logging: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"qingka-agent: configuration error: {exc}", file=sys.stderr)
        return 2
    except Fatal as exc:
        print(f"qingka-agent: {exc}", file=sys.stderr)
        return 1
