"""USB discovery: which tax-control devices are plugged in, and in which slot.

The device number is not in the USB descriptors (it is read through the vendor protocol), so
this only tells the kind from the VID:PID and the slot from the bus and port path.
"""

from __future__ import annotations

from pathlib import Path

import usb.backend.libusb1
import usb.control
import usb.core
import usb.util

from .drivers.base import FoundDevice

# VID:PID → kind, from docs/domain.md. Mass-storage sticks, keyboards, hubs are not listed.
USB_KINDS = {
    (0x101D, 0x0003): "golden_tax_disk",  # 金税盘; presents as mass storage ("USB Flash Disk")
    (0x1432, 0x07DC): "tax_disk",  # 税控盘 (NISEC)
    (0x1432, 0x07E2): "tax_disk",  # 税控盘 key
    **{
        (vid, pid): "ukey"
        for vid, pid in [
            (0x101D, 0x0005),
            (0x1432, 0x07D0),
            (0x14D6, 0xA002),
            (0x3254, 0xFF10),
            (0x287F, 0x00D4),
            (0x1677, 0x6101),
            (0x2012, 0x2010),
            (0x1EA8, 0xB00B),
            (0xD449, 0x0001),
            (0x163C, 0x5480),
            (0x2EC9, 0x1001),
            (0x3A59, 0x4458),
        ]
    },
}

SYSFS_USB = Path("/sys/bus/usb/devices")


class UsbUnavailable(RuntimeError):
    """USB cannot be enumerated at all on this machine (no libusb-1.0, no usbfs)."""


def _backend():
    """libusb-1.0 from the system (Linux: the libusb-1.0-0 package), or on Windows the DLL that the
    libusb-package wheel carries (a dependency of the agent there)."""
    try:
        import libusb_package
    except ImportError:
        backend = usb.backend.libusb1.get_backend()
    else:
        backend = usb.backend.libusb1.get_backend(find_library=libusb_package.find_library)
    if backend is None:
        raise UsbUnavailable(
            "libusb-1.0 was not found, so no USB device can be seen: install it "
            "(Debian/Ubuntu: apt-get install libusb-1.0-0; Windows: pip install libusb-package)"
        )
    return backend


def _known_devices() -> list[tuple[str, str, usb.core.Device]]:
    """(slot, kind, device) of every tax-control device plugged in."""
    try:
        devices = list(usb.core.find(find_all=True, backend=_backend()))
    except usb.core.USBError as exc:
        raise UsbUnavailable(f"cannot list USB devices: {exc}") from None
    return [
        (f"{dev.bus}-{'.'.join(map(str, dev.port_numbers))}", USB_KINDS[(dev.idVendor, dev.idProduct)], dev)
        for dev in devices
        if (dev.idVendor, dev.idProduct) in USB_KINDS and dev.port_numbers
    ]


def scan() -> list[FoundDevice]:
    found = [
        FoundDevice(
            slot=slot,
            kind=kind,
            driver="none",
            usb={
                "vid": f"{dev.idVendor:04x}",
                "pid": f"{dev.idProduct:04x}",
                "product": _string(dev, slot, "product"),
                "manufacturer": _string(dev, slot, "manufacturer"),
                "address": dev.address,  # the bus gives a new one at every plug-in
            },
        )
        for slot, kind, dev in _known_devices()
    ]
    return sorted(found, key=lambda d: [int(p) for p in d.slot.replace("-", ".").split(".")])


def access_problems() -> dict[str, str]:
    """slot → why this process cannot open the device there (on Linux: no udev rule for it)."""
    problems = {}
    for slot, _, dev in _known_devices():
        try:
            usb.control.get_status(dev)  # a harmless request that needs the device opened
        except NotImplementedError:
            pass  # Windows: the vendor's driver holds the device, and the vendor tool reaches it
        except usb.core.USBError as exc:
            problems[slot] = exc.strerror or str(exc)
        finally:
            usb.util.dispose_resources(dev)
    return problems


def _string(dev: usb.core.Device, slot: str, name: str) -> str | None:
    """A string descriptor, from sysfs (readable by anyone) or else from the device itself,
    which needs permission to open it."""
    try:
        return (SYSFS_USB / slot / name).read_text().strip() or None
    except OSError:
        pass
    try:
        return getattr(dev, name)
    except (ValueError, NotImplementedError, usb.core.USBError):
        return None
