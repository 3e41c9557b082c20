"""What is plugged in: the configured drivers' discoveries combined into inventory rows."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

from .config import Config, ConfigError
from .drivers.base import Driver, FoundDevice

log = logging.getLogger(__name__)


class UsbScan:
    """`usb` in QINGKA_DRIVERS: lists devices by USB identity only (driver "none"); runs nothing."""

    name = "usb"

    def discover(self) -> list[FoundDevice]:
        from .usb import scan

        return scan()


def _simulated(config: Config) -> Driver:
    if sys.platform == "win32":
        raise ConfigError("the simulated driver runs on Linux only (it is for demos and tests)")
    if not config.sim_devices:
        raise ConfigError("QINGKA_SIM_DEVICES is not set (needed by the simulated driver)")
    from .drivers.simulated import SimulatedDriver

    return SimulatedDriver(config.sim_devices, config.state_dir)


def _command(config: Config) -> Driver:
    if not config.command:
        raise ConfigError("QINGKA_COMMAND is not set (needed by the command driver)")
    from .drivers.command import CommandDriver

    return CommandDriver(list(config.command), timeout=config.command_timeout, lists=config.command_list)


def _cabinet(config: Config) -> Driver:
    settings = dict(config.cabinet)
    if not settings.get("broker_url"):
        raise ConfigError("QINGKA_CABINET_BROKER_URL is not set (needed by the cabinet driver)")
    if not settings.get("terminals"):
        raise ConfigError("QINGKA_CABINET_TERMINALS is not set (the cabinet's terminal ids, comma-separated)")
    from .drivers.cabinet import CabinetDriver

    try:
        return CabinetDriver(**settings)
    except ValueError as exc:
        raise ConfigError(f"cabinet driver: {exc}") from None


# Names allowed in QINGKA_DRIVERS; tests plug their own in here.
FACTORIES: dict[str, Callable[[Config], Any]] = {
    "simulated": _simulated,
    "command": _command,
    "cabinet": _cabinet,
    "usb": lambda config: UsbScan(),
}


def build_drivers(config: Config) -> list[Any]:
    unknown = [name for name in config.drivers if name not in FACTORIES]
    if unknown:
        raise ConfigError(f"QINGKA_DRIVERS: unknown driver {', '.join(unknown)} (known: {', '.join(FACTORIES)})")
    return [FACTORIES[name](config) for name in config.drivers]


def identity(row: dict[str, Any]) -> tuple:
    """What tells one inventory row from another: a plug-in or pull-out changes the set of them."""
    return row["slot"], row["kind"], row["driver"], row["device_number"]


def _describe(row: dict[str, Any]) -> str:
    number, kind = row["device_number"] or "未知", row["kind"] or "unknown"
    return f"slot {row['slot']} device {number} ({kind}, driver {row['driver']})"


class Inventory:
    def __init__(self, drivers: list[Any]):
        self.drivers = drivers
        self.rows: list[dict[str, Any]] = []
        self._found: dict[int, list[FoundDevice]] = {}
        self._errors: dict[int, str] = {}
        self._by_number: dict[str, Driver] = {}
        self._slots: dict[str, str] = {}
        self._readings: dict[str, dict[str, Any]] = {}
        self._scan_lock = threading.Lock()

    def scan(self) -> bool:
        """Discover again; returns True when a device was plugged in or pulled out."""
        with self._scan_lock:
            for index, driver in enumerate(self.drivers):
                try:
                    self._found[index] = driver.discover()
                except Exception as exc:  # keep the last answer: one failed scan is not a pull-out
                    error = f"{type(exc).__name__}: {exc}"
                    if self._errors.get(index) != error:  # once, not every few seconds
                        log.error("discovery by %s failed: %s", driver.name, error)
                    self._errors[index] = error
                else:
                    if self._errors.pop(index, None):
                        log.info("discovery by %s works again", driver.name)
            rows: list[dict[str, Any]] = []
            by_number: dict[str, Driver] = {}
            slots: dict[str, str] = {}
            taken: set[str] = set()
            # Devices a driver can operate first, so a USB device the command driver identifies
            # is not listed again as driver "none".
            found = [(self.drivers[i], d) for i in sorted(self._found) for d in self._found[i]]
            for driver, device in sorted(found, key=lambda pair: pair[1].driver == "none"):
                if device.driver == "none" and device.slot in taken:
                    continue
                taken.add(device.slot)
                rows.append(device.as_inventory())
                if device.driver != "none" and device.device_number:
                    by_number.setdefault(device.device_number, driver)
                    slots.setdefault(device.device_number, device.slot)
            before = {identity(row): row for row in self.rows}
            after = {identity(row): row for row in rows}
            for key in after.keys() - before.keys():
                log.info("plugged in: %s", _describe(after[key]))
            for key in before.keys() - after.keys():
                log.info("pulled out: %s", _describe(before[key]))
            self.rows, self._by_number, self._slots = rows, by_number, slots
            for row in rows:
                if row["device_number"] and row["monitoring"]:
                    self._readings[row["device_number"]] = row["monitoring"]
            return before.keys() != after.keys()

    def driver_for(self, device_number: str) -> Driver | None:
        return self._by_number.get(device_number)

    def slot_of(self, device_number: str) -> str | None:
        """Where the device sits (USB path, cabinet port …), for 重新上电 through uhubctl."""
        return self._slots.get(device_number)

    def reading_of(self, device_number: str) -> dict[str, Any] | None:
        """The device's latest monitoring data: from the last scan or the last operation."""
        return self._readings.get(device_number)

    def remember(self, device_number: str, monitoring: dict[str, Any]) -> None:
        self._readings[device_number] = monitoring
