"""`sim` commands: move the simulated cabinet's clock, plug and unplug its devices, file returns,
issue invoices.

They change files in the state dir, which a running agent reads at its next scan or operation.
The agent CLI adds them with add_sim_commands(subparsers); each parsed command carries
`func(args) -> int` (the exit status).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .drivers.base import DeviceError
from .drivers.simulated import SimulatedDriver


def add_sim_commands(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--devices",
        type=Path,
        default=os.environ.get("QINGKA_SIM_DEVICES"),
        help="the simulated cabinet's devices file (env QINGKA_SIM_DEVICES)",
    )
    common.add_argument(
        "--state-dir",
        type=Path,
        default=os.environ.get("QINGKA_STATE_DIR"),
        help="the agent's state directory (env QINGKA_STATE_DIR)",
    )

    sim = subparsers.add_parser("sim", help="control the simulated cabinet")
    commands = sim.add_subparsers(dest="sim_command", required=True, metavar="COMMAND")

    clock = commands.add_parser("clock", parents=[common], help="set the simulated clock")
    clock.add_argument(
        "setting",
        help="an ISO datetime (the clock stands still), an offset from real time like +30d, -2h, +1d12h, or 'real'",
    )
    clock.set_defaults(func=_reporting(_clock))
    for name, present in (("unplug", False), ("plug", True)):
        command = commands.add_parser(name, parents=[common], help=f"{name} a simulated device")
        command.add_argument("device_number")
        command.set_defaults(func=_reporting(_presence), present=present)
    file_return = commands.add_parser(
        "file-return", parents=[common], help="file a VAT return at the simulated tax bureau"
    )
    file_return.add_argument("taxpayer", metavar="DEVICE_NUMBER|TAXPAYER_ID")
    file_return.add_argument("period", metavar="YYYY-MM")
    file_return.set_defaults(func=_reporting(_file_return))
    issue = commands.add_parser(
        "issue-invoice", parents=[common], help="issue an invoice on a simulated device, at its clock"
    )
    issue.add_argument("device_number")
    issue.add_argument("amount", type=_amount, help="金额 before tax, e.g. 1000.00 (the tax is 13%%)")
    issue.add_argument("--type", dest="invoice_type", help="invoice type code (default: the device's first)")
    issue.add_argument("--offline", action="store_true", help="issued offline: not uploaded until upload-offline")
    issue.add_argument("--buyer", default="")
    issue.set_defaults(func=_reporting(_issue_invoice))
    upload = commands.add_parser("upload-offline", parents=[common], help="upload a device's offline invoices")
    upload.add_argument("device_number")
    upload.set_defaults(func=_reporting(_upload_offline))
    show = commands.add_parser("show", parents=[common], help="show every simulated device")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_reporting(_show))


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r}") from None


def _reporting(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A mistake on the command line (unknown device, bad period or clock) is one line, exit 2."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (ValueError, DeviceError) as exc:
            print(f"sim: {exc}", file=sys.stderr)
            return 2

    return run


def _driver(args: argparse.Namespace) -> SimulatedDriver:
    if not args.devices or not args.state_dir:
        raise SystemExit("sim: needs --devices FILE and --state-dir DIR (or QINGKA_SIM_DEVICES and QINGKA_STATE_DIR)")
    return SimulatedDriver(args.devices, args.state_dir)


def _clock(args: argparse.Namespace) -> int:
    driver = _driver(args)
    driver.set_clock(args.setting)
    print(f"simulated clock: {args.setting} (now {driver.now():%Y-%m-%d %H:%M:%S %z})")
    return 0


def _presence(args: argparse.Namespace) -> int:
    _driver(args).set_present(args.device_number, args.present)
    print(f"{args.device_number} {'plugged in' if args.present else 'unplugged'}")
    return 0


def _file_return(args: argparse.Namespace) -> int:
    taxpayer = _driver(args).file_return(args.taxpayer, args.period)
    print(f"return {args.period} filed for {taxpayer}")
    return 0


def _issue_invoice(args: argparse.Namespace) -> int:
    invoice = _driver(args).issue_invoice(
        args.device_number, args.amount, invoice_type=args.invoice_type, offline=args.offline, buyer=args.buyer
    )
    print(json.dumps(invoice, ensure_ascii=False))
    return 0


def _upload_offline(args: argparse.Namespace) -> int:
    print(f"{_driver(args).upload_offline_now(args.device_number)} offline invoices uploaded")
    return 0


def _show(args: argparse.Namespace) -> int:
    driver = _driver(args)
    rows = driver.snapshot()
    if args.json:
        print(json.dumps({"clock": driver.now().isoformat(), "devices": rows}, ensure_ascii=False, indent=1))
        return 0
    print(f"clock {driver.now():%Y-%m-%d %H:%M:%S %z}")
    print(
        f"{'device':<13}{'kind':<16}{'slot':<9}{'taxpayer':<20}{'sub':<4}{'state':<8}"
        f"{'zxbsrq':<11}{'kpjzsj':<11}tries summary/clear"
    )
    for row in rows:
        m = row["monitoring"]
        state = row["state"] if row["present"] else "未插"
        state += " " * (8 - 2 * len(state))  # CJK characters are two columns wide
        print(
            f"{m['device_number']:<13}{m['kind']:<16}{row['slot']:<9}{row['taxpayer_id']:<20}"
            f"{m['sub_number']:<4}{state}{m['zxbsrq']:<11}{m['kpjzsj']:<11}"
            f"{m['cert_tries_left']:<6}{m['summary_count']}/{m['clear_count']}"
            f"{' busy' if row['busy'] else ''}"
        )
    return 0
