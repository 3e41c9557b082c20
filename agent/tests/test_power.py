"""重新上电: as a job of its own, and before the one retry of DEVICE_NOT_STARTED and TIMEOUT, through
a driver's power_cycle or uhubctl."""

import sys
from pathlib import Path

import pytest
from qingka_agent import worker
from qingka_agent.drivers.base import DEVICE_NOT_STARTED, DRIVER_ERROR, TIMEOUT, DeviceError, Secrets
from qingka_agent.power import Power, usb_hub_port

NUMBER = "539912237528"
PERIOD = "2026-10"
SUMMARY_DUE = {"zxbsrq": "2026-10-03", "kpjzsj": "2026-11-16"}


class Device:
    """One device that fails its first operations with `failures`, until it is power-cycled."""

    name = "cabinet"

    def __init__(self, failures=(), power_fails=False):
        self.failures = list(failures)
        self.power_fails = power_fails
        self.calls: list[str] = []
        self.state = dict(SUMMARY_DUE)

    def discover(self):
        return []

    def query_invoices(self, number, secrets, query):
        return {"invoices": []}

    def _maybe_fail(self):
        if self.failures:
            raise DeviceError(self.failures.pop(0), "设备未开启")

    def read_status(self, number, secrets):
        self.calls.append("read_status")
        self._maybe_fail()
        return dict(self.state)

    def upload_summary(self, number, period, secrets):
        self.calls.append("upload_summary")
        self._maybe_fail()
        self.state["zxbsrq"] = "2026-11-02"
        return dict(self.state)

    def clear(self, number, period, secrets):
        self.calls.append("clear")
        self._maybe_fail()
        self.state["kpjzsj"] = "2026-12-15"
        return dict(self.state)

    def power_cycle(self, number):
        self.calls.append("power_cycle")
        if self.power_fails:
            raise DeviceError(TIMEOUT, "no answer")


class NoPower(Device):
    power_cycle = None  # type: ignore[assignment]


def operate(device, kind, known=SUMMARY_DUE, power=True):
    switch = Power().switch_for(device, "sim-1") if power else None
    return worker._operate(device, kind, NUMBER, PERIOD, Secrets(), dict(known) if known else None, None, switch)


@pytest.mark.parametrize("code", [DEVICE_NOT_STARTED, TIMEOUT])
def test_not_started_or_timeout_is_power_cycled_and_tried_once_more(code):
    device = Device([code])
    result = operate(device, "upload_summary")
    assert result["outcome"] == "succeeded" and result["monitoring"]["zxbsrq"] == "2026-11-02"
    # the retry reads the device first: a step the failed attempt did after all is not repeated
    assert device.calls == ["upload_summary", "power_cycle", "read_status", "upload_summary"]


def test_only_one_retry():
    device = Device([DEVICE_NOT_STARTED, DEVICE_NOT_STARTED])
    result = operate(device, "clear", known={"zxbsrq": "2026-11-02", "kpjzsj": "2026-11-16"})
    assert result["outcome"] == "failed" and result["error_code"] == DEVICE_NOT_STARTED
    assert device.calls == ["clear", "power_cycle", "read_status"]


def test_the_retry_finds_the_step_done_by_the_attempt_that_timed_out():
    device = Device()
    original = device.upload_summary

    def did_it_then_timed_out(number, period, secrets):
        original(number, period, secrets)
        raise DeviceError(TIMEOUT, "no answer")

    device.upload_summary = did_it_then_timed_out  # type: ignore[method-assign]
    result = operate(device, "upload_summary")
    assert result["outcome"] == "succeeded" and result["already_done"] is True
    assert device.calls == ["upload_summary", "power_cycle", "read_status"]


def test_other_errors_are_not_power_cycled():
    device = Device(["CERT_PASSWORD_WRONG"])
    result = operate(device, "upload_summary")
    assert result["error_code"] == "CERT_PASSWORD_WRONG" and "power_cycle" not in device.calls


def test_without_a_way_to_power_cycle_the_failure_stands():
    device = NoPower([DEVICE_NOT_STARTED])
    assert Power().switch_for(device, "sim-1") is None
    result = operate(device, "upload_summary")
    assert result["error_code"] == DEVICE_NOT_STARTED and device.calls == ["upload_summary"]


def test_a_failed_power_cycle_leaves_the_first_failure():
    device = Device([DEVICE_NOT_STARTED], power_fails=True)
    result = operate(device, "upload_summary")
    assert result["error_code"] == DEVICE_NOT_STARTED
    assert device.calls == ["upload_summary", "power_cycle"]


def test_power_cycle_job_restarts_the_port_and_reads_the_device():
    device = Device()
    result = operate(device, "power_cycle", known=None)
    assert result["outcome"] == "succeeded" and result["monitoring"] == SUMMARY_DUE
    assert device.calls == ["power_cycle", "read_status"]


def test_power_cycle_job_without_a_switch_fails_plainly():
    result = operate(NoPower(), "power_cycle", known=None)
    assert result["outcome"] == "failed" and result["error_code"] == DRIVER_ERROR
    assert "uhubctl" in result["message"]


@pytest.mark.parametrize(
    ("slot", "hub_port"),
    [("1-1.4.2", ("1-1.4", "2")), ("3-2", ("3", "2")), ("1-1.4", ("1-1", "4")), ("sim-1", None), ("068100:3", None)],
)
def test_usb_slots_name_a_hub_and_port(slot, hub_port):
    assert usb_hub_port(slot) == hub_port


def fake_uhubctl(tmp_path: Path, exit_code: int = 0) -> tuple[str, Path]:
    log = tmp_path / "uhubctl.log"
    script = tmp_path / "uhubctl"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        f"print('Sent power cycle request'); sys.exit({exit_code})\n"
    )
    script.chmod(0o755)
    return str(script), log


def test_uhubctl_cycles_the_devices_hub_port(tmp_path):
    command, log = fake_uhubctl(tmp_path)
    device = NoPower([DEVICE_NOT_STARTED])
    switch = Power([command], settle=0).switch_for(device, "1-1.4.2")
    assert switch is not None
    result = worker._operate(device, "upload_summary", NUMBER, PERIOD, Secrets(), dict(SUMMARY_DUE), None, switch)
    assert result["outcome"] == "succeeded"
    assert log.read_text() == "-l 1-1.4 -p 2 -a cycle -d 2\n"
    assert Power([command]).switch_for(device, "sim-1") is None  # not a port of a local hub


def test_uhubctl_failing_is_a_driver_error(tmp_path):
    command, _ = fake_uhubctl(tmp_path, exit_code=1)
    switch = Power([command], settle=0).switch_for(NoPower(), "1-1.4.2")
    result = worker._operate(NoPower(), "power_cycle", NUMBER, None, Secrets(), None, None, switch)
    assert result["error_code"] == DRIVER_ERROR and "uhubctl" in result["message"]
