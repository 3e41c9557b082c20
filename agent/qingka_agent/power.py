"""重新上电: turning a device's port off and on again, through the cabinet (its driver's own
`power_cycle`) or through `uhubctl` for a plain USB hub with per-port power switching.

Used as an operation of its own (job kind `power_cycle`, the device page's 重新上电) and by the
worker before the one retry of an operation that failed with DEVICE_NOT_STARTED or TIMEOUT.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

from .drivers.base import DRIVER_ERROR, TIMEOUT, DeviceError

log = logging.getLogger(__name__)

# A slot on the agent's own USB bus: bus-port[.port…] ("1-1.4.2"): hub "1-1.4", port 2.
USB_SLOT = re.compile(r"^(?P<hub>\d+-\d+(?:\.\d+)*)\.(?P<port>\d+)$|^(?P<root>\d+)-(?P<rootport>\d+)$")


def usb_hub_port(slot: str) -> tuple[str, str] | None:
    """(hub location, port) for uhubctl's -l and -p, or None when the slot is not a local USB path."""
    found = USB_SLOT.match(slot or "")
    if not found:
        return None
    if found["hub"]:
        return found["hub"], found["port"]
    return found["root"], found["rootport"]  # a port of the root hub: uhubctl names it by bus number


class Power:
    """How the agent power-cycles a device, if it can."""

    def __init__(self, uhubctl: Sequence[str] = (), settle: float = 5.0, timeout: float = 60.0):
        self.uhubctl = tuple(uhubctl)  # e.g. ("uhubctl",) or ("sudo", "uhubctl"); empty: not used
        self.settle = settle  # seconds for a device to start after its port came back
        self.timeout = timeout

    def switch_for(self, driver: Any, slot: str | None) -> Callable[[str], None] | None:
        """The function that power-cycles device `number` on this driver and slot, or None."""
        if callable(getattr(driver, "power_cycle", None)):
            return driver.power_cycle
        if self.uhubctl and slot and usb_hub_port(slot):
            hub, port = usb_hub_port(slot)  # type: ignore[misc]
            return lambda number: self._uhubctl(hub, port, number)
        return None

    def _uhubctl(self, hub: str, port: str, number: str) -> None:
        command = [*self.uhubctl, "-l", hub, "-p", port, "-a", "cycle", "-d", "2"]
        log.info("device %s: power-cycling hub %s port %s: %s", number, hub, port, " ".join(command))
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise DeviceError(TIMEOUT, f"uhubctl 超时（{self.timeout:.0f} 秒）") from None
        except OSError as exc:
            raise DeviceError(DRIVER_ERROR, f"无法运行 uhubctl：{exc}") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout or "").strip()[-300:]
            raise DeviceError(DRIVER_ERROR, f"uhubctl 失败（退出码 {done.returncode}）：{tail}")
        time.sleep(self.settle)
