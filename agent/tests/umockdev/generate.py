"""Writes cabinet.umockdev, the USB tree that test_usb_discovery.py loads into umockdev-run.

libusb enumerates through udev and reads busnum, devnum, speed and the binary `descriptors`
attribute from sysfs; it derives the port path from the parent hubs, so the hubs are described
too. Regenerate after a change: python agent/tests/umockdev/generate.py
"""

from pathlib import Path

PCI = "/devices/pci0000:00/0000:00:14.0"

# (sysfs name, devnum, vid, pid, interface class, manufacturer, product); "" = no sysfs attribute
DEVICES = [
    ("usb1", 1, 0x1D6B, 0x0002, 0x09, "Linux xhci-hcd", "xHCI Host Controller"),
    ("1-1", 2, 0x05E3, 0x0608, 0x09, "GenesysLogic", "USB2.0 Hub"),  # the cabinet's hubs
    ("1-1.4", 3, 0x05E3, 0x0608, 0x09, "GenesysLogic", "USB2.0 Hub"),
    ("1-1.4.2", 4, 0x101D, 0x0005, 0xFF, "", "ChinaTax SWUKey"),  # 税务UKey
    ("1-1.4.3", 5, 0x3254, 0xFF10, 0xFF, "", ""),  # 税务UKey, strings unreadable
    ("1-2", 6, 0x1432, 0x07DC, 0xFF, "NISEC", "TaxDisk"),  # 税控盘
    ("1-3", 7, 0x0781, 0x5567, 0x08, "SanDisk", "Cruzer Blade"),  # a USB stick: not returned
    ("usb2", 1, 0x1D6B, 0x0002, 0x09, "Linux xhci-hcd", "xHCI Host Controller"),
    ("2-1", 2, 0x101D, 0x0003, 0x08, "", "USB Flash Disk"),  # 金税盘, as mass storage
]


def descriptors(vid: int, pid: int, interface_class: int) -> bytes:
    hub = interface_class == 0x09
    device = bytes(
        [
            18,
            1,
            0x00,
            0x02,
            0x09 if hub else 0,
            0,
            0,
            64,
            vid & 0xFF,
            vid >> 8,
            pid & 0xFF,
            pid >> 8,
            0x00,
            0x01,
            1,
            2,
            0,
            1,
        ]
    )
    endpoints = (
        [bytes([7, 5, 0x81, 3, 4, 0, 12])]
        if hub
        else [bytes([7, 5, 0x81, 2, 0, 2, 0]), bytes([7, 5, 0x02, 2, 0, 2, 0])]
    )
    subclass, protocol = (6, 0x50) if interface_class == 0x08 else (0, 0)
    interface = bytes([9, 4, 0, 0, len(endpoints), interface_class, subclass, protocol, 0])
    total = 9 + len(interface) + sum(map(len, endpoints))
    config = bytes([9, 2, total & 0xFF, total >> 8, 1, 1, 0, 0x80, 50])
    return device + config + interface + b"".join(endpoints)


def record(name: str, devnum: int, vid: int, pid: int, interface_class: int, manufacturer: str, product: str) -> str:
    bus, _, ports = name.removeprefix("usb").partition("-")
    parts = ports.split(".") if ports else []
    path = f"{PCI}/usb{bus}" + "".join(f"/{bus}-{'.'.join(parts[:i])}" for i in range(1, len(parts) + 1))
    desc = descriptors(vid, pid, interface_class).hex().upper()
    node = f"bus/usb/{int(bus):03d}/{devnum:03d}"
    minor = (int(bus) - 1) * 128 + devnum - 1
    lines = [
        f"P: {path}",
        f"N: {node}={desc}",
        f"E: DEVNAME=/dev/{node}",
        "E: DEVTYPE=usb_device",
        "E: DRIVER=usb",
        f"E: PRODUCT={vid:x}/{pid:x}/100",
        f"E: BUSNUM={int(bus):03d}",
        f"E: DEVNUM={devnum:03d}",
        "E: MAJOR=189",
        f"E: MINOR={minor}",
        "E: SUBSYSTEM=usb",
        f"A: busnum={bus}",
        f"A: devnum={devnum}",
        f"A: devpath={ports or 0}",
        f"A: idVendor={vid:04x}",
        f"A: idProduct={pid:04x}",
        f"A: bDeviceClass={interface_class if interface_class == 0x09 else 0:02x}",
        "A: bNumConfigurations=1",
        "A: bConfigurationValue=1",
        f"A: maxchild={7 if interface_class == 0x09 else 0}",
        "A: speed=480",
        f"A: dev=189:{minor}",
        f"H: descriptors={desc}",
    ]
    lines += [f"A: {key}={value}" for key, value in (("manufacturer", manufacturer), ("product", product)) if value]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out = Path(__file__).with_name("cabinet.umockdev")
    out.write_text("\n".join(record(*device) for device in DEVICES))
    print(f"wrote {out}")
