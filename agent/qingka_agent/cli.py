"""`qingka-agent run | devices | check` (and `sim …` when the simulator's commands are installed)."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import unicodedata
from pathlib import Path

from kombu import Connection

from .client import SiteClient, SiteError, SiteUnreachable, Unauthorised
from .config import ConfigError, load
from .inventory import Inventory, build_drivers
from .runner import Fatal, run

KIND_NAMES = {"golden_tax_disk": "金税盘", "tax_disk": "税控盘", "ukey": "税务UKey"}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]]) -> str:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def cmd_run(args) -> int:
    return run(load(args.config))


def cmd_devices(args) -> int:
    inventory = Inventory(build_drivers(load(args.config)))
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


def cmd_check(args) -> int:
    config = load(args.config)
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
    for ok, text in lines:
        print(("✓ " if ok else "✗ ") + text)
    return 0 if all(ok for ok, _ in lines) else 1


def _config_option(parser: argparse.ArgumentParser, default) -> argparse.ArgumentParser:
    # Accepted before and after the command; a separate option each, as argparse shares parents' actions.
    parser.add_argument(
        "--config", type=Path, default=default, help="TOML or YAML file with settings (the environment wins)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _config_option(
        argparse.ArgumentParser(prog="qingka-agent", description="清卡 on-premise agent (前置机)"), None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func, text in (
        ("run", cmd_run, "run the agent"),
        ("devices", cmd_devices, "list the devices found now"),
        ("check", cmd_check, "is the site reachable, the token accepted, the broker reachable?"),
    ):
        command = _config_option(commands.add_parser(name, help=text), argparse.SUPPRESS)
        command.set_defaults(func=func)
        if name == "devices":
            command.add_argument("--json", action="store_true", help="print the inventory rows as JSON")
    try:
        simctl = importlib.import_module(f"{__package__}.simctl")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.simctl":
            raise
    else:
        simctl.add_sim_commands(commands)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per request or per received task would drown the agent's own job lines.
    for noisy in ("httpx", "httpcore", "celery.worker.strategy", "celery.app.trace"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"qingka-agent: configuration error: {exc}", file=sys.stderr)
        return 2
    except Fatal as exc:
        print(f"qingka-agent: {exc}", file=sys.stderr)
        return 1
