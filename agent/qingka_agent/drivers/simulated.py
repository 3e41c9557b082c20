"""A simulated cabinet of tax-control devices that follows the device rules of docs/domain.md.

A devices file describes the cabinet (docs/simulated-devices.md). Each device's state lives in
state_dir/simulated/devices/<device_number>.json, written atomically, so it survives a restart
or a kill at any moment; the devices file only seeds a device the first time it is seen.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import os
import random
import re
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .. import clock
from .base import (
    CERT_LOCKED,
    CERT_PASSWORD_WRONG,
    DEVICE_BUSY,
    DEVICE_LOCKED,
    DEVICE_MISSING,
    DEVICE_PASSWORD_WRONG,
    DRIVER_ERROR,
    KINDS,
    MULTI_MONTH_UNREPORTED,
    NOT_REGISTERED,
    OUTSIDE_WINDOW,
    RECONCILIATION_FAILED,
    RETURN_NOT_FILED,
    SUMMARY_NOT_DONE,
    TRANSFER_FAILED,
    UPLOAD_OVERDUE,
    DeviceError,
    FoundDevice,
    Secrets,
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when there, the same answers faster
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
DEFAULT_PASSWORDS = {  # kind: (证书口令, 设备口令)
    "golden_tax_disk": ("12345678", "23456789"),
    "tax_disk": ("12345678", "88888888"),
    "ukey": ("12345678", "88888888"),
}
NATURES = ("01", "08", "05")
QUARTERLY_NATURES = ("08", "05")  # inferred: 05 转登记 files quarterly like a small-scale taxpayer
ZOMBIE_DAYS = 90
WINDOW_OPENS = timedelta(minutes=5)  # 抄报 for M is allowed from 00:05 on the 1st of M+1
MONITORING_DEFAULTS = {"dzkpxe": "99999.99", "lxzssyje": "1000000.00", "lxkpsc": 72, "lxkpzs": 500, "syrl": 20000}
# Invoice-type state: 1 未抄税, 2 抄税未清卡, 3 已清卡, 4 已锁死; the device state it stands for:
STATE_NAMES = {1: "待抄报", 2: "待清卡", 3: "已完成", 4: "已锁死"}
REPEAT_SUMMARY_CODES = {"golden_tax_disk": "195"}
REPEAT_CLEAR_CODES = {"golden_tax_disk": "195", "tax_disk": "0x09d118"}
CLOCK_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

# Linux open-file-description locks: held per open(), so threads exclude each other as processes
# do, released when the holder dies, and F_OFD_GETLK can ask "is it held?" without taking it.
_FLOCK = struct.Struct("hhqqi4x")  # struct flock


class SimulatedDriver:
    name = "simulated"

    def __init__(self, devices_file: Path, state_dir: Path, clock: Callable[[], datetime] | None = None):
        self.devices_file = Path(devices_file)
        self.dir = Path(state_dir) / "simulated"
        (self.dir / "devices").mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._read: tuple[tuple[int, int], dict] | None = None  # (the file's mtime and size, cabinet)
        self._states: dict[str, tuple[tuple[int, int], dict]] = {}  # number: (its file's identity, state)
        self._scans: dict[str, tuple[dict, dict, date, dict]] = {}  # number: (state, cabinet, day, monitoring)

    # -- the driver interface ------------------------------------------------------------------

    def discover(self) -> list[FoundDevice]:
        cabinet = self._cabinet()
        now = self.now()
        found = []
        for number in cabinet["devices"]:
            state = self._state(number, cabinet, shared=True)
            if state["present"]:
                found.append(
                    FoundDevice(
                        slot=state["slot"],
                        kind=state["kind"],
                        driver=self.name,
                        device_number=number,
                        simulated=True,
                        busy=self._is_busy(number),
                        monitoring=self._scanned(number, state, now, cabinet),
                    )
                )
        return found

    def read_status(self, device_number: str, secrets: Secrets) -> dict[str, Any]:
        return self._operate(device_number, secrets, lambda state, now, cabinet: {})

    def upload_summary(self, device_number: str, period: str, secrets: Secrets) -> dict[str, Any]:
        month = _period(period)
        return self._operate(
            device_number, secrets, lambda state, now, cabinet: self._summarise(state, now, month, cabinet)
        )

    def clear(self, device_number: str, period: str, secrets: Secrets) -> dict[str, Any]:
        month = _period(period)
        return self._operate(
            device_number, secrets, lambda state, now, cabinet: self._clear(state, now, month, cabinet)
        )

    def upload_offline(self, device_number: str, secrets: Secrets) -> dict[str, Any]:
        """上传离线发票, failing as the other operations do (busy, passwords, the latency, the network's
        transfer_failures); none left to upload is a repeat, already done."""
        return self._operate(device_number, secrets, lambda state, now, cabinet: self._upload_offline(state))

    def query_invoices(self, device_number: str, secrets: Secrets, query: dict[str, str]) -> dict[str, Any]:
        """发票查询, read-only: the device's invoices of one month ({"month": "YYYY-MM"}) or the one
        with a code and number ({"code", "number"}), uploaded or not."""
        if "month" in query:
            month = _period(query["month"])

            def find(state: dict, now: datetime) -> list:
                return _of_month(state, month, now)

        elif query.get("number"):
            wanted = (query.get("code") or "", query["number"])

            def find(state: dict, now: datetime) -> list:
                return [i for i in _invoices(state, now) if (i["code"], i["number"]) == wanted]

        else:
            raise DeviceError(DRIVER_ERROR, f"a query needs a month or a number, not {query!r}")
        return self._operate(device_number, secrets, lambda state, now, cabinet: {"invoices": find(state, now)})

    # -- controls used by `sim` commands -------------------------------------------------------

    def issue_invoice(
        self,
        device_number: str,
        amount: Decimal,
        invoice_type: str | None = None,
        offline: bool = False,
        buyer: str = "",
    ) -> dict[str, Any]:
        """开票 at the device's clock, as a person at the vendor software would. An offline invoice
        stays on the device, not uploaded, until upload_offline()."""
        with self._editing(device_number) as state:
            now = self.now()
            kind = invoice_type or state["invoice_types"][0]
            if kind not in state["invoice_types"]:
                raise ValueError(f"device {device_number} issues {', '.join(state['invoice_types'])}, not {kind}")
            if _type_state(state, now.date()) == 4:
                raise DeviceError(DEVICE_LOCKED, "已到开票截止日期，禁止开票")
            if not Decimal(0) < amount <= Decimal(state["dzkpxe"]):
                raise ValueError(f"amount must be above 0 and at most the device's limit {state['dzkpxe']}")
            month = _month(now.date())
            issued = [i for i in state.get("issued", []) if i["type"] == kind and i["issued_at"][:7] == _label(month)]
            invoice = _invoice(device_number, kind, month, ISSUED_FROM + len(issued), now, amount, buyer or BUYERS[0])
            invoice["uploaded"] = not offline
            state["issued"] = [*state.get("issued", []), invoice]
        return invoice

    def upload_offline_now(self, device_number: str) -> int:
        """Uploads the device's offline invoices as a cabinet does every two hours, with no password
        and no failure (`sim upload-offline`); how many. The 上传离线发票 job is upload_offline()."""
        with self._editing(device_number) as state:
            return _upload_offline(state)

    def now(self) -> datetime:
        if self._clock is not None:
            now = self._clock()
        else:
            try:
                setting = (self.dir / "clock").read_text().strip()
            except FileNotFoundError:
                setting = "real"
            now = parse_clock(setting)
        return now.replace(tzinfo=SHANGHAI) if now.tzinfo is None else now.astimezone(SHANGHAI)

    def set_clock(self, setting: str) -> None:
        """ "real", a fixed ISO datetime (the clock stands still) or an offset from real time
        ("+30d", "-2h", "+1d12h"); a running agent reads it at every operation."""
        parse_clock(setting)
        _write_atomic(self.dir / "clock", setting + "\n")

    def set_present(self, device_number: str, present: bool) -> None:
        with self._editing(device_number) as state:
            state["present"] = present

    def file_return(self, key: str, period: str) -> str:
        """Files the VAT return of period "YYYY-MM" for a taxpayer, named by its taxpayer id or
        by one of its device numbers. Returns the taxpayer id."""
        cabinet = self._cabinet()
        label = _label(_period(period))
        taxpayer = _taxpayer_of(key, cabinet)
        if taxpayer not in {_taxpayer_of(n, cabinet) for n in cabinet["devices"]}:
            raise ValueError(f"no device or taxpayer {key!r} in {self.devices_file}")
        with self._lock("bureau", wait=True):
            filed = self._filed_returns()
            filed[taxpayer] = sorted(set(filed.get(taxpayer, [])) | {label})
            _write_atomic(self.dir / "bureau.json", json.dumps(filed, indent=1))
        return taxpayer

    def snapshot(self) -> list[dict[str, Any]]:
        """Every device of the cabinet, present or not, with its monitoring data."""
        cabinet = self._cabinet()
        now = self.now()
        rows = []
        for number in cabinet["devices"]:
            state = self._state(number, cabinet)
            rows.append(
                {
                    "slot": state["slot"],
                    "present": state["present"],
                    "taxpayer_id": state["taxpayer_id"],
                    "busy": self._is_busy(number),
                    "state": STATE_NAMES[_type_state(state, now.date())],
                    "monitoring": self._monitoring(state, now, cabinet),
                }
            )
        return rows

    # -- one operation -------------------------------------------------------------------------

    def _operate(
        self, device_number: str, secrets: Secrets, action: Callable[[dict, datetime, dict], dict]
    ) -> dict[str, Any]:
        cabinet = self._cabinet()
        if device_number not in cabinet["devices"]:
            raise DeviceError(DEVICE_MISSING, f"未插税控设备: {device_number} is not in the cabinet")
        with self._lock(device_number, wait=False):
            state = self._state(device_number, cabinet)
            if not state["present"]:
                raise DeviceError(DEVICE_MISSING, "未插税控设备")
            if state["busy_failures"] > 0:
                state["busy_failures"] -= 1
                self._save(state)
                raise DeviceError(DEVICE_BUSY, "税盘正在被使用")
            self._check_passwords(state, secrets)
            if not state["registered"]:
                raise DeviceError(NOT_REGISTERED, "税控设备未注册")
            time.sleep(state["latency_seconds"])
            now = self.now()
            before = dict(state)
            try:
                extra = action(state, now, cabinet)
            except DeviceError as exc:
                exc.monitoring = self._monitoring(state, now, cabinet)
                raise
            if state != before:  # a read changes nothing and writes nothing
                self._save(state)
            return {**self._monitoring(state, now, cabinet), **extra}

    def _check_passwords(self, state: dict, secrets: Secrets) -> None:
        if state["cert_tries_left"] <= 0:
            raise DeviceError(CERT_LOCKED, "证书口令已锁定，需到税务机关解锁", raw_code="0x0963c0")
        if secrets.device_password != state["device_password"]:
            raise DeviceError(DEVICE_PASSWORD_WRONG, "设备口令错误")
        if secrets.certificate_password != state["certificate_password"]:
            state["cert_tries_left"] -= 1
            self._save(state)
            left = state["cert_tries_left"]
            raise DeviceError(
                CERT_LOCKED if left == 0 else CERT_PASSWORD_WRONG,
                f"证书口令错误，剩余 {left} 次",
                raw_code=f"0x0963c{left:x}",
            )

    def _summarise(self, state: dict, now: datetime, period: int, cabinet: dict | None = None) -> dict:
        _check_window(now, period)
        zxbsrq = date.fromisoformat(state["zxbsrq"])
        if zxbsrq >= _first(period + 1):
            return _repeat(state, REPEAT_SUMMARY_CODES)
        if cabinet is not None:
            _check_remote_unlock(state, now, cabinet)
        offline = [i for i in state.get("issued", []) if not i["uploaded"] and i["issued_at"][:7] == _label(period)]
        if state.get("offline_invoices_pending") or offline:
            raise DeviceError(
                UPLOAD_OVERDUE,
                "已到上传截止日期，上月有已开未上传发票，不能继续开票",
                raw_code="246" if state["kind"] == "golden_tax_disk" else None,
            )
        if (now.date() - zxbsrq).days > ZOMBIE_DAYS:
            raise DeviceError(
                MULTI_MONTH_UNREPORTED,
                "抄税失败，可能存在多月未正常抄报情况",
                raw_code="202" if state["kind"] == "golden_tax_disk" else None,
            )
        self._reach_bureau(state)
        state["zxbsrq"] = now.date().isoformat()
        state["summary_count"] += 1
        summary = _summary(state["invoice_types"], _of_month(state, period, now))
        if _label(period) in state.get("summary_mismatch_for", []) and summary:  # one invoice uploaded twice
            first = next(iter(summary.values()))
            first["count"] += 1
            first["amount"] = f"{Decimal(first['amount']) + DUPLICATE[0]:.2f}"
            first["tax"] = f"{Decimal(first['tax']) + DUPLICATE[1]:.2f}"
        return {"summary": summary}

    def _clear(self, state: dict, now: datetime, period: int, cabinet: dict) -> dict:
        _check_window(now, period)
        this = _month(now.date())
        if _month(date.fromisoformat(state["kpjzsj"])) >= period + 2:
            return _repeat(state, REPEAT_CLEAR_CODES)
        _check_remote_unlock(state, now, cabinet)
        for number in cabinet["taxpayers"].get(state["taxpayer_id"], [state["device_number"]]):
            other = state if number == state["device_number"] else self._state(number, cabinet)
            if _month(date.fromisoformat(other["zxbsrq"])) < this:
                raise DeviceError(
                    SUMMARY_NOT_DONE,
                    "未完成抄报"
                    + (
                        ""
                        if other is state
                        else f": 同一纳税人的设备 {number} (开票机号 {other['sub_number']}) 尚未抄报"
                    ),
                )
        self._reach_bureau(state)
        reported = this - 1  # the month the 抄报 of this month covered
        if _return_due(state["taxpayer_nature"], reported) and not self._return_filed(
            state["taxpayer_id"], reported, cabinet
        ):
            raise DeviceError(RETURN_NOT_FILED, f"未完成申报/报税 ({_label(reported)})")
        if _label(reported) in state["reconciliation_fails_for"]:
            raise DeviceError(RECONCILIATION_FAILED, f"票表比对不通过 ({_label(reported)})")
        # a late lock stays in the deadline's month: the next month's 抄报 is due from its 1st
        late = _deadline(this + 1, cabinet) + timedelta(days=state.get("lock_days_after_deadline", 0))
        lock_date = min(late, _first(this + 2) - timedelta(days=1))
        state["kpjzsj"] = lock_date.isoformat()
        state["clear_count"] += 1
        return {}

    def _upload_offline(self, state: dict) -> dict:
        if not _offline_pending(state):
            return {"already_done": True}
        self._reach_bureau(state)
        _upload_offline(state)
        return {}

    def _reach_bureau(self, state: dict) -> None:
        if state["transfer_failures"] > 0:
            state["transfer_failures"] -= 1
            self._save(state)
            raise DeviceError(TRANSFER_FAILED, "数据传输失败")

    def _return_filed(self, taxpayer: str, period: int, cabinet: dict) -> bool:
        label = _label(period)
        if label in self._filed_returns().get(taxpayer, []):
            return True
        bureau = cabinet["bureau"]
        for section, filed in (("unfiled", False), ("filed", True)):
            for key, periods in (bureau.get(section) or {}).items():
                if _taxpayer_of(str(key), cabinet) == taxpayer and label in map(str, periods):
                    return filed
        return bool(bureau.get("returns_filed_by_default", True))

    def _filed_returns(self) -> dict[str, list[str]]:
        try:
            return json.loads((self.dir / "bureau.json").read_text())
        except FileNotFoundError:
            return {}

    def _scanned(self, number: str, state: dict, now: datetime, cabinet: dict) -> dict[str, Any]:
        """The monitoring data a scan reports: worked out again only when the device's state, the
        day or the devices file changed, else the last one with the clock moved on. A scan reads
        every device every few seconds, and working out 2,000 devices' data held up the agent's
        job threads for 50 ms each time."""
        today = now.date()
        cached = self._scans.get(number)  # a new state or cabinet is a new dict: compared by identity
        if cached is None or cached[0] is not state or cached[1] is not cabinet or cached[2] != today:
            cached = self._scans[number] = (state, cabinet, today, self._monitoring(state, now, cabinet))
        return {**cached[3], "clock": now.isoformat(timespec="seconds")}

    def _monitoring(self, state: dict, now: datetime, cabinet: dict) -> dict[str, Any]:
        this = _month(now.date())
        type_state = _type_state(state, now.date())
        deadline = _deadline(this, cabinet).isoformat()
        return {
            "device_number": state["device_number"],
            "kind": state["kind"],
            "simulated": True,
            "sub_number": state["sub_number"],
            "clock": now.isoformat(timespec="seconds"),
            "taxpayer_nature": state["taxpayer_nature"],
            "kpjzsj": state["kpjzsj"],
            "zxbsrq": state["zxbsrq"],
            "bsqsrq": _first(this).isoformat(),
            "bszzrq": deadline,
            "scjzrq": deadline,
            **{key: state[key] for key in MONITORING_DEFAULTS},
            "cert_tries_left": state["cert_tries_left"],
            "registered": state["registered"],
            "summary_count": state["summary_count"],
            "clear_count": state["clear_count"],
            "offline_pending": _offline_pending(state),
            "invoice_types": {
                code: {"state": type_state, "kpjzsj": state["kpjzsj"], "zxbsrq": state["zxbsrq"]}
                for code in state["invoice_types"]
            },
        }

    # -- storage -------------------------------------------------------------------------------

    def _cabinet(self) -> dict:
        """The devices file, read again whenever it changed so edits (bureau, new devices) apply
        at once; parsing it at every operation cost more than the operation at 2,000 devices."""
        stat = self.devices_file.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        if self._read is None or self._read[0] != key:
            self._read = (key, self._parse())
        return self._read[1]

    def _parse(self) -> dict:
        data = yaml.load(self.devices_file.read_text(encoding="utf-8"), Loader=_Loader) or {}
        devices = {}
        for n, spec in enumerate(data.get("devices") or [], 1):
            number = str(spec.get("device_number", ""))
            problem = _spec_problem(spec, number)
            if number in devices:
                problem = f"device_number {number} appears twice"
            if problem:
                raise ValueError(f"{self.devices_file}: device #{n}: {problem}")
            devices[number] = {**spec, "device_number": number, "slot": str(spec.get("slot", f"sim-{n}"))}
        taxpayers: dict[str, list[str]] = {}
        for number, spec in devices.items():
            taxpayers.setdefault(str(spec.get("taxpayer_id", number)), []).append(number)
        return {
            "devices": devices,
            "taxpayers": taxpayers,
            "bureau": data.get("bureau") or {},
            "deadlines": {str(k): str(v) for k, v in (data.get("deadlines") or {}).items()},
        }

    def _state(self, number: str, cabinet: dict, shared: bool = False) -> dict:
        """The device's state from its file, parsed again only when the file changed (a scan
        looks at every device every few seconds). `shared`: the cached dict itself, for reading
        only; otherwise a copy the caller may change and save."""
        path = f"{self.dir}/devices/{number}.json"  # a str, not a Path: a scan builds 2,000 of them
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            # create-only, so a process seeding at the same time cannot overwrite a mutation
            seed = json.dumps(self._seed(cabinet["devices"][number], cabinet), indent=1)
            _write_atomic(Path(path), seed, replace=False)
            stat = os.stat(path)
        stamp = (stat.st_ino, stat.st_mtime_ns)  # every write replaces the file: a new inode
        cached = self._states.get(number)
        if cached is None or cached[0] != stamp:
            cached = self._states[number] = (stamp, json.loads(Path(path).read_text()))
        return cached[1] if shared else copy.deepcopy(cached[1])

    def _seed(self, spec: dict, cabinet: dict) -> dict:
        today = self.now().date()
        this = _month(today)
        deadline = _deadline(this, cabinet)
        # due for 抄报 this month; seeded after this month's deadline it would start out locked
        kpjzsj = deadline if today <= deadline else _first(this + 1) - timedelta(days=1)
        certificate_password, device_password = DEFAULT_PASSWORDS[spec["kind"]]
        return {
            "device_number": spec["device_number"],
            "kind": spec["kind"],
            "slot": spec["slot"],
            "taxpayer_id": str(spec.get("taxpayer_id", spec["device_number"])),
            "taxpayer_nature": _nature(spec.get("taxpayer_nature", "01")),
            "sub_number": int(spec.get("sub_number", 0)),
            "certificate_password": str(spec.get("certificate_password", certificate_password)),
            "device_password": str(spec.get("device_password", device_password)),
            "cert_tries_left": int(spec.get("cert_tries_left", 8)),
            "registered": bool(spec.get("registered", True)),
            "present": bool(spec.get("present", True)),
            "zxbsrq": str(spec.get("zxbsrq", _first(this - 1).replace(day=2))),
            "kpjzsj": str(spec.get("kpjzsj", kpjzsj)),
            "invoice_types": [str(code) for code in spec.get("invoice_types", ["004", "007", "026"])],
            "transfer_failures": int(spec.get("transfer_failures", 0)),
            "busy_failures": int(spec.get("busy_failures", 0)),
            "latency_seconds": float(spec.get("latency_seconds", 0)),
            "reconciliation_fails_for": [str(p) for p in spec.get("reconciliation_fails_for", [])],
            "summary_mismatch_for": [str(p) for p in spec.get("summary_mismatch_for", [])],
            "lock_days_after_deadline": int(spec.get("lock_days_after_deadline", 0)),
            "offline_invoices_pending": bool(spec.get("offline_invoices_pending", False)),
            "invoices_per_month": int(spec.get("invoices_per_month", 0)),
            "summary_count": int(spec.get("summary_count", 0)),
            "clear_count": int(spec.get("clear_count", 0)),
            **{
                key: f"{Decimal(str(spec.get(key, default))):.2f}"
                if isinstance(default, str)
                else int(spec.get(key, default))
                for key, default in MONITORING_DEFAULTS.items()
            },
        }

    def _save(self, state: dict) -> None:
        _write_atomic(self.dir / "devices" / f"{state['device_number']}.json", json.dumps(state, indent=1))

    @contextmanager
    def _editing(self, device_number: str) -> Iterator[dict]:
        """A `sim` command's change to one device's state: under its lock, saved when the block ends
        without an error (ValueError for a device the cabinet does not have)."""
        cabinet = self._cabinet()
        if device_number not in cabinet["devices"]:
            raise ValueError(f"no device {device_number} in {self.devices_file}")
        with self._lock(device_number, wait=True):
            state = self._state(device_number, cabinet)
            yield state
            self._save(state)

    @contextmanager
    def _lock(self, name: str, wait: bool) -> Iterator[None]:
        """One operation per device at a time; DEVICE_BUSY instead of waiting unless `wait`."""
        fd = os.open(self.dir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                _ofd_lock(fd, fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK, fcntl.F_WRLCK)
            except (BlockingIOError, PermissionError):  # EAGAIN, or EACCES on some systems
                raise DeviceError(DEVICE_BUSY, "税盘正在被使用") from None
            yield
        finally:
            os.close(fd)  # releases the lock

    def _is_busy(self, name: str) -> bool:
        fd = os.open(f"{self.dir}/{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            return _ofd_lock(fd, fcntl.F_OFD_GETLK, fcntl.F_WRLCK) != fcntl.F_UNLCK
        finally:
            os.close(fd)


def parse_clock(setting: str, real: datetime | None = None) -> datetime:
    real = real or clock.now().astimezone(SHANGHAI)
    if setting == "real":
        return real
    if match := re.fullmatch(r"([+-])((?:\d+[dhms])+)", setting):
        seconds = sum(int(n) * CLOCK_UNITS[unit] for n, unit in re.findall(r"(\d+)([dhms])", match[2]))
        return real + timedelta(seconds=seconds if match[1] == "+" else -seconds)
    try:
        return datetime.fromisoformat(setting)
    except ValueError:
        raise ValueError(f"clock must be 'real', an ISO datetime or an offset like +30d, not {setting!r}") from None


def _ofd_lock(fd: int, command: int, lock_type: int) -> int:
    answer = fcntl.fcntl(fd, command, _FLOCK.pack(lock_type, os.SEEK_SET, 0, 0, 0))
    return _FLOCK.unpack(answer)[0]


def _write_atomic(path: Path, text: str, replace: bool = True) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            with suppress(FileExistsError):
                os.link(tmp, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
    dir_fd = os.open(path.parent, os.O_RDONLY)  # make the rename itself survive a power cut
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _spec_problem(spec: dict, number: str) -> str | None:
    if not re.fullmatch(r"\d{12}", number):
        return "device_number must be 12 digits (quote it)"
    if spec.get("kind") not in KINDS:
        return f"kind must be one of {', '.join(KINDS)}"
    if _nature(spec.get("taxpayer_nature", "01")) not in NATURES:
        return f"taxpayer_nature must be one of {', '.join(NATURES)}"
    if not 0 <= int(spec.get("cert_tries_left", 8)) <= 10:
        return "cert_tries_left must be 0-10"
    most = (ISSUED_FROM - 1) * len(spec.get("invoice_types", ["004", "007", "026"]))
    if not 0 <= int(spec.get("invoices_per_month", 0)) <= most:
        return f"invoices_per_month must be 0-{most} ({ISSUED_FROM - 1} per invoice type)"
    return None


def _type_state(state: dict, today: date) -> int:
    """The invoice-type state docs/domain.md derives from the clock, zxbsrq and kpjzsj."""
    kpjzsj = date.fromisoformat(state["kpjzsj"])
    zxbsrq = date.fromisoformat(state["zxbsrq"])
    this = _month(today)
    if today > kpjzsj or (today - zxbsrq).days > ZOMBIE_DAYS:
        return 4
    if this > _month(zxbsrq) and this >= _month(kpjzsj):
        return 1
    return 2 if this >= _month(kpjzsj) else 3


def _offline_pending(state: dict) -> int:
    """Invoices issued offline and not uploaded; the spec's offline_invoices_pending (how many is not
    said) counts as one."""
    return sum(not i["uploaded"] for i in state.get("issued", [])) + bool(state.get("offline_invoices_pending"))


def _upload_offline(state: dict) -> int:
    """Marks the device's offline invoices uploaded; how many there were."""
    pending = _offline_pending(state)
    # new dicts: an operation saves the state only when it differs from a shallow copy taken before
    state["issued"] = [{**invoice, "uploaded": True} for invoice in state.get("issued", [])]
    state["offline_invoices_pending"] = False
    return pending


def _repeat(state: dict, codes: dict[str, str]) -> dict:
    raw = codes.get(state["kind"])
    return {"already_done": True, **({"raw_code": raw} if raw else {})}


def _check_window(now: datetime, period: int) -> None:
    opens = datetime.combine(_first(period + 1), datetime.min.time(), SHANGHAI) + WINDOW_OPENS
    if now < opens:
        raise DeviceError(
            OUTSIDE_WINDOW, f"当前时间不在允许范围内: {_label(period)} 自 {opens:%Y-%m-%d %H:%M} 起可抄报"
        )


def _check_remote_unlock(state: dict, now: datetime, cabinet: dict) -> None:
    """A locked device in a region whose bureau unlocks only at the hall (`bureau.hall_only_regions`
    holding the device's `region`) refuses its 逾期抄报 and 清卡; elsewhere they go on as usual."""
    if now.date() <= date.fromisoformat(state["kpjzsj"]):
        return
    region = str(cabinet["devices"].get(state["device_number"], {}).get("region", ""))
    if region and region in {str(r) for r in cabinet["bureau"].get("hall_only_regions") or []}:
        raise DeviceError(
            DEVICE_LOCKED,
            f"设备已锁死，{region}税务机关不支持远程解锁，须到办税服务厅处理",
            raw_code={"golden_tax_disk": "248", "tax_disk": "0x09d109"}.get(state["kind"]),
        )


def _return_due(nature: str, period: int) -> bool:
    """General taxpayers file every month; small-scale ones for quarters (Mar, Jun, Sep, Dec)."""
    return nature not in QUARTERLY_NATURES or period % 12 + 1 in (3, 6, 9, 12)


def _taxpayer_of(key: str, cabinet: dict) -> str:
    spec = cabinet["devices"].get(key)
    return str(spec.get("taxpayer_id", key)) if spec else key


def _deadline(month: int, cabinet: dict) -> date:
    official = cabinet["deadlines"].get(_label(month))
    return date.fromisoformat(official) if official else _first(month).replace(day=15)


def _nature(value: Any) -> str:
    return str(value).zfill(2)  # YAML reads an unquoted 01 as the number 1


DUPLICATE = (Decimal("1000.00"), Decimal("130.00"))  # the invoice a summary_mismatch_for device counts twice


BUYERS = ("上海明远贸易有限公司", "杭州青禾科技有限公司", "南京恒通物流有限公司", "苏州嘉和电子有限公司", "个人")
ISSUED_FROM = 5001  # numbers of invoices issued through `sim issue-invoice` start here in a month
ELECTRONIC = ("026", "028")  # their codes have 12 digits, paper invoices' 10


def month_invoices(device_number: str, invoice_types: list[str], period: int, count: int = 0) -> list[dict[str, Any]]:
    """The invoices a device issued on its own in month index `period` (the same every time, so a
    test or the demo can know them), all uploaded: 0–12 of each type, or `count` in all (the spec's
    invoices_per_month) spread over the types. Only months before the device clock's are shown
    (_of_month): the current one holds only what `sim issue-invoice` issued."""
    rng = random.Random(f"{device_number}:{period}")
    invoices = []
    for n, kind in enumerate(invoice_types):
        many = count // len(invoice_types) + (n < count % len(invoice_types)) if count else rng.randint(0, 12)
        amounts = [Decimal(rng.randint(100_00, 20_000_00)) / 100 for _ in range(many)]
        when = random.Random(f"{device_number}:{period}:{kind}")
        for seq, amount in enumerate(amounts, 1):
            day = datetime.combine(_first(period), datetime.min.time(), SHANGHAI).replace(
                day=when.randint(1, 28), hour=when.randint(9, 17), minute=when.randint(0, 59)
            )
            invoices.append(_invoice(device_number, kind, period, seq, day, amount, when.choice(BUYERS)))
    return invoices


def _invoice(
    device_number: str, kind: str, period: int, seq: int, when: datetime, amount: Decimal, buyer: str
) -> dict[str, Any]:
    """One invoice; its code is the device's for this type and year, its number runs in the month."""
    key = int(hashlib.sha256(f"{device_number}:{kind}".encode()).hexdigest(), 16)
    year = period // 12 % 100
    code = f"031{year:02d}{key % 10**7:07d}" if kind in ELECTRONIC else f"31{year:02d}{key % 10**6:06d}"
    return {
        "type": kind,
        "code": code,
        "number": f"{key // 10**7 % 100:02d}{period % 12 + 1:02d}{seq:04d}",
        "issued_at": when.isoformat(timespec="seconds"),
        "amount": f"{amount:.2f}",
        "tax": f"{(amount * Decimal('0.13')).quantize(Decimal('0.01')):.2f}",
        "buyer": buyer,
        "uploaded": True,
    }


def _of_month(state: dict, period: int, now: datetime) -> list[dict[str, Any]]:
    """The device's invoices of month index `period`: its own (for a month before its clock's) and
    those issued by hand."""
    count = state.get("invoices_per_month", 0)
    own = (
        month_invoices(state["device_number"], state["invoice_types"], period, count)
        if period < _month(now.date())
        else []
    )
    return own + [dict(i) for i in state.get("issued", []) if i["issued_at"][:7] == _label(period)]


def _invoices(state: dict, now: datetime) -> list[dict[str, Any]]:
    """Every invoice on the device, from a year before its latest 抄报 to now."""
    first = _month(date.fromisoformat(state["zxbsrq"])) - 12
    return [invoice for period in range(first, _month(now.date()) + 1) for invoice in _of_month(state, period, now)]


def _summary(invoice_types: list[str], invoices: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What a 抄报 uploads: these invoices summed per type, {type: {"count", "amount", "tax"}}."""
    summary = {}
    for kind in invoice_types:
        mine = [i for i in invoices if i["type"] == kind]
        summary[kind] = {
            "count": len(mine),
            "amount": f"{sum((Decimal(i['amount']) for i in mine), Decimal(0)):.2f}",
            "tax": f"{sum((Decimal(i['tax']) for i in mine), Decimal(0)):.2f}",
        }
    return summary


def invoice_summary(device_number: str, invoice_types: list[str], period: int) -> dict[str, dict[str, Any]]:
    """What the 抄报 of month index `period` uploads from a device that issued nothing by hand."""
    return _summary(invoice_types, month_invoices(device_number, invoice_types, period))


def _period(text: str) -> int:
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(text))
    if not match or not 1 <= int(match[2]) <= 12:
        raise DeviceError(DRIVER_ERROR, f"period must be YYYY-MM, not {text!r}")
    return _month(date(int(match[1]), int(match[2]), 1))


def _month(day: date) -> int:
    return day.year * 12 + day.month - 1


def _first(month: int) -> date:
    return date(month // 12, month % 12 + 1, 1)


def _label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"
