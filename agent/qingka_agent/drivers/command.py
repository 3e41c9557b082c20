"""The bridge to a firm's vendor tool: one run of a program per operation (docs/command-driver.md).

The request goes to the program's stdin as one JSON object, passwords included, so they never
show in a process list; the answer is one JSON object on its stdout.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from typing import Any

from .. import usb as usb_discovery
from ..system import processes
from .base import (
    CERT_LOCKED,
    CERT_PASSWORD_WRONG,
    CERT_REPORTED_LOST,
    CERT_REVOKED,
    CERT_STATUS_UNKNOWN,
    CLEAR_FAILED,
    CLOCK_ERROR,
    DEVICE_BUSY,
    DEVICE_LOCKED,
    DEVICE_MISSING,
    DEVICE_NOT_STARTED,
    DEVICE_PASSWORD_LOCKED,
    DEVICE_PASSWORD_WRONG,
    DRIVER_ERROR,
    ERROR_CODES,
    KEY_UPDATE_REQUIRED,
    KINDS,
    MULTI_MONTH_UNREPORTED,
    NOT_REGISTERED,
    OUTSIDE_WINDOW,
    PORT_UNAUTHORIZED,
    RECONCILIATION_FAILED,
    RETURN_NOT_FILED,
    SUMMARY_NOT_DONE,
    TIMEOUT,
    TRANSFER_FAILED,
    UPLOAD_OVERDUE,
    DeviceError,
    FoundDevice,
    Secrets,
)

ALREADY_DONE = "already_done"  # a raw code that means the operation had already happened: success

# The vendor codes of docs/domain.md, lower-cased; 0x0963c<N> (N tries left) is handled in stable_code.
RAW_CODES = {
    "246": UPLOAD_OVERDUE,
    "248": DEVICE_LOCKED,
    "202": MULTI_MONTH_UNREPORTED,
    "195": ALREADY_DONE,
    "0x09d109": DEVICE_LOCKED,
    "0x09d118": ALREADY_DONE,
    "0x09c000": DEVICE_NOT_STARTED,
    "0x09240d": KEY_UPDATE_REQUIRED,
    "0x09e105": CLOCK_ERROR,
    "error@98": CERT_REPORTED_LOST,
    "error@97": CERT_REVOKED,
    "error@103": CERT_STATUS_UNKNOWN,
}


# The Chinese messages vendor tools show (docs/domain.md), for a tool that answers with a message and
# no code the driver knows: the first phrase the message contains gives the code. The one table;
# a message found in none of them stays a DRIVER_ERROR and is kept word for word on the job.
MESSAGE_CODES = (
    ("未插税控设备", DEVICE_MISSING),
    ("税控设备未注册", NOT_REGISTERED),
    ("未完成抄报", SUMMARY_NOT_DONE),
    ("未完成申报", RETURN_NOT_FILED),
    ("未完成报税", RETURN_NOT_FILED),
    ("不在允许范围内", OUTSIDE_WINDOW),
    ("数据传输失败", TRANSFER_FAILED),
    ("票表比对不通过", RECONCILIATION_FAILED),
    ("证书口令错误", CERT_PASSWORD_WRONG),
    ("设备口令锁定", DEVICE_PASSWORD_LOCKED),
    ("设备口令错误", DEVICE_PASSWORD_WRONG),
    ("正在被使用", DEVICE_BUSY),
    ("端口未授权", PORT_UNAUTHORIZED),
    ("多月未正常抄报", MULTI_MONTH_UNREPORTED),
    ("清卡失败", CLEAR_FAILED),
)


def message_code(message: str) -> str | None:
    """The stable code a vendor tool's Chinese message stands for, None when no phrase matches."""
    return next((code for phrase, code in MESSAGE_CODES if phrase in message), None)


def stable_code(raw_code: Any) -> str | None:
    """The stable code (or ALREADY_DONE) for a vendor code, None for an unknown one."""
    raw = str(raw_code).strip().lower()
    if match := re.fullmatch(r"0x0963c([0-9a-f])", raw):  # 证书口令错误, last digit = tries left
        return CERT_LOCKED if match[1] == "0" else CERT_PASSWORD_WRONG
    return RAW_CODES.get(raw)


class CommandDriver:
    name = "command"

    def __init__(
        self, program: list[str], timeout: float = 120, env: dict[str, str] | None = None, lists: bool = False
    ):
        self.program = list(program)
        self.timeout = timeout
        self.env = env
        self._numbers: dict[tuple, str] = {}  # (slot, USB identity) → device number
        self._devices: dict[str, FoundDevice] = {}  # device number → the device as last seen
        self._running: set[str] = set()  # device numbers with an operation under way
        self._running_lock = threading.Lock()
        # `list` is asked only of a tool configured to answer it (QINGKA_COMMAND_LIST), so a
        # bridge written before the operation existed never gets an op it does not know.
        self._lists: bool | None = None if lists else False

    def discover(self) -> list[FoundDevice]:
        """The tool's own list when it answers `list` (a cabinet, USB/IP: devices the agent's USB
        bus does not see), else USB devices of known kinds, each identified once while it stays
        plugged in (a device plugged in again gets a new USB address, so it is identified again)."""
        if self._lists is not False:
            listed = self._list()
            if listed is not None:
                return listed
        found = usb_discovery.scan()
        numbers, devices = {}, {}
        for device in found:
            device.driver = self.name
            key = (device.slot, tuple(sorted((device.usb or {}).items())))
            number = self._numbers.get(key)
            if number in self._devices:
                device.monitoring = self._devices[number].monitoring
            else:
                try:
                    device.monitoring = self._run("identify", device.slot, device.kind, None, None, Secrets())
                except DeviceError:
                    continue  # listed without a device number; tried again at the next scan
                number = device.monitoring.get("device_number") or None
            if number:
                numbers[key] = number
                devices[number] = device
                device.device_number = number
                device.busy = number in self._running
        self._numbers, self._devices = numbers, devices
        return found

    def _list(self) -> list[FoundDevice] | None:
        """The optional `list` operation; None when the tool does not answer it with a list (then
        it is not asked again). A tool that listed before and fails now raises: the inventory
        keeps its last answer."""
        try:
            answer = self._run("list", "", None, None, None, Secrets())
            devices = answer.get("devices")
            if not isinstance(devices, list):
                raise DeviceError(DRIVER_ERROR, "no list of devices")
        except DeviceError:
            if self._lists:
                raise
            self._lists = False
            return None
        self._lists = True
        found, numbers = [], {}
        for row in devices:
            if not isinstance(row, dict) or not row.get("slot"):
                continue
            number = str(row.get("device_number") or "") or None
            monitoring = row.get("monitoring") if isinstance(row.get("monitoring"), dict) else None
            device = FoundDevice(
                slot=str(row["slot"]),
                kind=row.get("kind") if row.get("kind") in KINDS else None,
                driver=self.name,
                device_number=number,
                busy=number in self._running,
                monitoring=monitoring,
            )
            if number:
                previous = self._devices.get(number)
                if device.monitoring is None and previous is not None:
                    device.monitoring = previous.monitoring
                numbers[number] = device
            found.append(device)
        self._devices = numbers
        return found

    def read_status(self, device_number: str, secrets: Secrets) -> dict[str, Any]:
        return self._operate("read_status", device_number, None, secrets)

    def upload_summary(self, device_number: str, period: str, secrets: Secrets) -> dict[str, Any]:
        return self._operate("upload_summary", device_number, period, secrets)

    def clear(self, device_number: str, period: str, secrets: Secrets) -> dict[str, Any]:
        return self._operate("clear", device_number, period, secrets)

    def upload_offline(self, device_number: str, secrets: Secrets) -> dict[str, Any]:
        return self._operate("upload_offline", device_number, None, secrets)

    def query_invoices(self, device_number: str, secrets: Secrets, query: dict[str, str]) -> dict[str, Any]:
        return self._operate("query_invoices", device_number, None, secrets, query)

    def _operate(
        self, op: str, device_number: str, period: str | None, secrets: Secrets, query: dict[str, str] | None = None
    ) -> dict[str, Any]:
        if device_number not in self._devices:
            self.discover()
        device = self._devices.get(device_number)
        if device is None:
            raise DeviceError(DEVICE_MISSING, f"未插税控设备: {device_number} was not found on USB")
        with self._running_lock:
            if device_number in self._running:
                raise DeviceError(DEVICE_BUSY, "税盘正在被使用: another operation is running on it")
            self._running.add(device_number)
        try:
            result = self._run(op, device.slot, device.kind, device_number, period, secrets, query)
        finally:
            with self._running_lock:
                self._running.discard(device_number)
        monitoring = {k: v for k, v in result.items() if k not in ("already_done", "raw_code", "invoices")}
        latest = self._devices.get(device_number)  # a scan during the operation made a new one
        if monitoring and latest is not None:
            latest.monitoring = monitoring
        return result

    def _run(
        self,
        op: str,
        slot: str,
        kind: str | None,
        device_number: str | None,
        period: str | None,
        secrets: Secrets,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        request = {
            "op": op,
            "slot": slot,
            "kind": kind,
            "device_number": device_number,
            "period": period,
            **({"query": query} if query is not None else {}),
            "certificate_password": secrets.certificate_password,
            "device_password": secrets.device_password,
        }
        hide = [p for p in (secrets.certificate_password, secrets.device_password) if p]

        def scrub(text: str) -> str:  # a tool that echoes a password must not leak it further
            for password in hide:
                text = text.replace(password, "***")
            return text

        try:
            proc = subprocess.Popen(
                self.program,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                encoding="utf-8",
                errors="replace",
                env=self.env,
                **processes.popen_options(),
            )
        except OSError as exc:
            raise DeviceError(DRIVER_ERROR, f"cannot run {self.program[0]}: {exc.strerror}") from None
        try:
            stdout, stderr = proc.communicate(json.dumps(request), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            processes.kill_tree(proc)  # the tool and anything it started
            proc.communicate()
            raise DeviceError(TIMEOUT, f"{self.program[0]} did not answer {op} within {self.timeout:g}s") from None
        last_line = scrub(stderr.strip().splitlines()[-1] if stderr.strip() else "")
        if proc.returncode != 0:
            raise DeviceError(DRIVER_ERROR, f"{self.program[0]} exited with {proc.returncode}: {last_line}")
        try:
            answer = json.loads(stdout)
            if not isinstance(answer, dict) or not isinstance(answer.get("monitoring") or {}, dict):
                raise ValueError("not a JSON object with a monitoring object")
        except ValueError:
            raise DeviceError(
                DRIVER_ERROR,
                f"{self.program[0]} gave no JSON answer to {op}: {scrub(stdout.strip()[:200]) or last_line}",
            ) from None
        monitoring = dict(answer.get("monitoring") or {})
        raw_code = answer.get("raw_code")
        if answer.get("ok") is True:
            invoices = answer.get("invoices")
            if op == "query_invoices" and not isinstance(invoices, list):
                raise DeviceError(DRIVER_ERROR, f"{self.program[0]} gave no list of invoices to {op}")
            return (
                monitoring
                | _repeat(answer.get("already_done"), raw_code)
                | ({"invoices": invoices} if invoices else {})
                | ({"devices": answer["devices"]} if op == "list" and isinstance(answer.get("devices"), list) else {})
            )
        code = answer.get("error_code")
        message = scrub(str(answer.get("message") or ""))
        if not isinstance(code, str) or code not in ERROR_CODES:
            stable = stable_code(raw_code) if raw_code is not None else None
            stable = stable or message_code(message)
            if stable is None:
                message = f"unknown error {code or raw_code}: {message}"
            code = stable or DRIVER_ERROR
        if code == ALREADY_DONE:
            return monitoring | _repeat(True, raw_code)
        raise DeviceError(
            code, message, raw_code=None if raw_code is None else str(raw_code), monitoring=monitoring or None
        )


def _repeat(already_done: Any, raw_code: Any) -> dict[str, Any]:
    if not already_done:
        return {}
    return {"already_done": True, **({"raw_code": str(raw_code)} if raw_code is not None else {})}
