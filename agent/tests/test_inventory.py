"""Inventory rows from several drivers, plug/unplug detection, device number -> driver."""

from qingka_agent.drivers.base import FoundDevice
from qingka_agent.inventory import Inventory


class Source:
    def __init__(self, name, found):
        self.name = name
        self.found = found

    def discover(self):
        if isinstance(self.found, Exception):
            raise self.found
        return list(self.found)


def command_device(slot, number):
    return FoundDevice(
        slot=slot, kind="tax_disk", driver="command", device_number=number, usb={"vid": "1432", "pid": "07dc"}
    )


def bare_usb(slot):
    return FoundDevice(slot=slot, kind="ukey", driver="none", usb={"vid": "101d", "pid": "0005"})


def test_device_identified_by_a_driver_is_not_listed_again_as_none():
    usb = Source("usb", [bare_usb("1-1.4"), bare_usb("1-1.5")])
    command = Source("command", [command_device("1-1.4", "539912237528")])
    inventory = Inventory([usb, command])
    inventory.scan()
    assert [(row["slot"], row["driver"], row["device_number"]) for row in inventory.rows] == [
        ("1-1.4", "command", "539912237528"),
        ("1-1.5", "none", None),
    ]
    assert inventory.driver_for("539912237528") is command
    assert inventory.driver_for("661814461322") is None


def test_plugged_in_and_pulled_out_are_changes(caplog):
    caplog.set_level("INFO")
    command = Source("command", [command_device("1-1.4", "539912237528")])
    inventory = Inventory([command])
    assert inventory.scan() is True
    assert inventory.scan() is False
    command.found = [command_device("1-1.4", "539912237528"), command_device("1-1.6", "537100494968")]
    assert inventory.scan() is True
    assert "plugged in: slot 1-1.6 device 537100494968" in caplog.text
    command.found = [command_device("1-1.6", "537100494968")]
    assert inventory.scan() is True
    assert "pulled out: slot 1-1.4 device 539912237528" in caplog.text
    assert inventory.driver_for("539912237528") is None


def test_a_failed_discovery_keeps_the_last_answer_and_is_logged_once(caplog):
    command = Source("command", [command_device("1-1.4", "539912237528")])
    inventory = Inventory([command])
    inventory.scan()
    command.found = TimeoutError("vendor program hangs")
    assert inventory.scan() is False
    assert inventory.scan() is False
    assert inventory.driver_for("539912237528") is command
    assert caplog.text.count("vendor program hangs") == 1
