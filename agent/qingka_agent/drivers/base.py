"""The one small interface every device driver implements.

A driver finds its devices and runs the device operations. Every operation returns the
device's monitoring data as read *after* the operation, and fails only by raising DeviceError
with one of the stable codes below. The site owns the catalogue that gives each code its Chinese
message, remedy and retry class; the agent only reports codes (the server decides, LAVA-style).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# The device kinds and their names, the site's DeviceKind (apps/devices/models.py) by value:
# tests/devices/test_kinds_parity.py holds the two equal.
KIND_NAMES = {"golden_tax_disk": "金税盘", "tax_disk": "税控盘", "ukey": "税务UKey"}
KINDS = tuple(KIND_NAMES)

# Stable error codes, shared with the site's catalogue (apps/devices/errors.py) by value only.
DEVICE_MISSING = "DEVICE_MISSING"  # 未插税控设备
NOT_REGISTERED = "NOT_REGISTERED"  # 税控设备未注册
SUMMARY_NOT_DONE = "SUMMARY_NOT_DONE"  # 未完成抄报
RETURN_NOT_FILED = "RETURN_NOT_FILED"  # 未完成申报/报税
OUTSIDE_WINDOW = "OUTSIDE_WINDOW"  # 当前时间不在允许范围内
TRANSFER_FAILED = "TRANSFER_FAILED"  # 数据传输失败
RECONCILIATION_FAILED = "RECONCILIATION_FAILED"  # 票表比对不通过
CERT_PASSWORD_WRONG = "CERT_PASSWORD_WRONG"  # 证书口令错误 (0x0963c0-c7)
CERT_LOCKED = "CERT_LOCKED"  # 证书口令已锁定 (tries left = 0)
DEVICE_PASSWORD_WRONG = "DEVICE_PASSWORD_WRONG"  # 设备口令错误
DEVICE_PASSWORD_LOCKED = "DEVICE_PASSWORD_LOCKED"  # 设备口令锁定
DEVICE_BUSY = "DEVICE_BUSY"  # 税盘正在被使用
PORT_UNAUTHORIZED = "PORT_UNAUTHORIZED"  # USB端口未授权
DEVICE_LOCKED = "DEVICE_LOCKED"  # 已到开票截止日期 (248, 0x09d109)
UPLOAD_OVERDUE = "UPLOAD_OVERDUE"  # 246 已到上传截止日期，有已开未上传发票
MULTI_MONTH_UNREPORTED = "MULTI_MONTH_UNREPORTED"  # 202 多月未抄报 / zombie (>90 days)
DEVICE_NOT_STARTED = "DEVICE_NOT_STARTED"  # 0x09c000 设备未开启
KEY_UPDATE_REQUIRED = "KEY_UPDATE_REQUIRED"  # 0x09240d 需要更新安全认证密钥
CLOCK_ERROR = "CLOCK_ERROR"  # 0x09e105 时钟错误
CERT_REPORTED_LOST = "CERT_REPORTED_LOST"  # ERROR@98 证书已挂失
CERT_REVOKED = "CERT_REVOKED"  # ERROR@97 证书已作废
CERT_STATUS_UNKNOWN = "CERT_STATUS_UNKNOWN"  # ERROR@103 证书状态未知
CLEAR_FAILED = "CLEAR_FAILED"  # 清卡失败 with no more precise reason
TIMEOUT = "TIMEOUT"  # the driver did not answer in time
DRIVER_ERROR = "DRIVER_ERROR"  # anything the driver could not classify
RESULT_TOO_LARGE = "RESULT_TOO_LARGE"  # an answer bigger than the site can take (qingka_agent.paging)
UNSUPPORTED = "UNSUPPORTED"  # the driver's device or protocol has no such operation (a cabinet: 上传离线发票)

ERROR_CODES = frozenset(value for name, value in list(globals().items()) if name.isupper() and isinstance(value, str))


class DeviceError(Exception):
    """An operation failed. `raw_code` is the vendor's own code (e.g. "0x0963c3", "248")."""

    def __init__(
        self, code: str, message: str = "", raw_code: str | None = None, monitoring: dict[str, Any] | None = None
    ):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.raw_code = raw_code
        self.monitoring = monitoring  # what the device reported along with the failure, if any


@dataclass
class FoundDevice:
    """One device as seen by a driver's discovery, one row of the agent's inventory."""

    slot: str  # USB bus + port path ("1-1.4.2"), or "sim-3" for a simulated one
    kind: str | None  # one of KINDS, None when the USB identity is unknown
    driver: str  # "simulated", "command", or "none" (present, no driver)
    device_number: str | None = None  # 12 digits, read through the vendor protocol; None if unknown
    simulated: bool = False
    busy: bool = False
    usb: dict[str, Any] | None = None  # {"vid": "101d", "pid": "0005", "product": ..., "manufacturer": ...}
    monitoring: dict[str, Any] | None = None  # last monitoring data the driver holds, if cheap to get

    def as_inventory(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "kind": self.kind,
            "driver": self.driver,
            "device_number": self.device_number,
            "simulated": self.simulated,
            "busy": self.busy,
            "usb": self.usb,
            "monitoring": self.monitoring,
        }


@dataclass
class Secrets:
    """Passwords handed over by the site for one job; never logged, never written to disk."""

    certificate_password: str = field(repr=False, default="")
    device_password: str = field(repr=False, default="")


class Driver(Protocol):
    name: str

    def discover(self) -> list[FoundDevice]: ...

    def read_status(self, device_number: str, secrets: Secrets) -> dict[str, Any]: ...

    def upload_summary(self, device_number: str, period: str, secrets: Secrets) -> dict[str, Any]:
        """抄报 for period "YYYY-MM". Already summarised: returns the monitoring data with
        "already_done": True, as devices report 195 / a repeat as success (and the device's
        "raw_code", e.g. "195", when it gave one)."""
        ...

    def clear(self, device_number: str, period: str, secrets: Secrets) -> dict[str, Any]:
        """清卡 for period "YYYY-MM". A repeated clear returns monitoring with "already_done": True."""
        ...

    def upload_offline(self, device_number: str, secrets: Secrets) -> dict[str, Any]:
        """上传离线发票: uploads the invoices issued offline and still only on the device, so that
        "offline_pending" reads 0 after it. None to upload: the monitoring data with "already_done": True.
        A driver whose device or protocol cannot do it raises DeviceError(UNSUPPORTED)."""
        ...

    def query_invoices(self, device_number: str, secrets: Secrets, query: dict[str, str]) -> dict[str, Any]:
        """发票查询, read-only: the invoices on the device of one month ({"month": "YYYY-MM"}) or with one
        code and number ({"code", "number"}), uploaded to the bureau or not, under "invoices": a list
        of {"type", "code", "number", "issued_at", "amount", "tax", "buyer", "uploaded"}."""
        ...
