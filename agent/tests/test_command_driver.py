"""CommandDriver against fake_vendor_tool.py: requests on stdin, answers, code mapping, failures."""

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from qingka_agent import usb
from qingka_agent.drivers.base import (
    CERT_LOCKED,
    CERT_PASSWORD_WRONG,
    CERT_REPORTED_LOST,
    CERT_REVOKED,
    CERT_STATUS_UNKNOWN,
    CLOCK_ERROR,
    DEVICE_BUSY,
    DEVICE_LOCKED,
    DEVICE_MISSING,
    DEVICE_NOT_STARTED,
    DRIVER_ERROR,
    KEY_UPDATE_REQUIRED,
    MULTI_MONTH_UNREPORTED,
    RETURN_NOT_FILED,
    TIMEOUT,
    UNSUPPORTED,
    UPLOAD_OVERDUE,
    DeviceError,
    FoundDevice,
    Secrets,
)
from qingka_agent.drivers.command import CommandDriver

TOOL = Path(__file__).with_name("fake_vendor_tool.py")
UKEY, DISK = "537100494968", "539912237528"
SECRETS = Secrets("cert-Pw-4471", "dev-Pw-9902")


@pytest.fixture(autouse=True)
def plugged(monkeypatch):
    """USB shows two devices the fake tool knows and one it cannot identify."""
    monkeypatch.setattr(
        usb,
        "scan",
        lambda: [
            FoundDevice(slot="1-1.4.2", kind="ukey", driver="none", usb={"vid": "101d", "pid": "0005"}),
            FoundDevice(slot="1-2", kind="tax_disk", driver="none", usb={"vid": "1432", "pid": "07dc"}),
            FoundDevice(slot="1-3", kind="ukey", driver="none", usb={"vid": "3254", "pid": "ff10"}),
        ],
    )


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "requests.jsonl"
    monkeypatch.setenv("FAKE_VENDOR_LOG", str(path))
    return lambda: [json.loads(line) for line in path.read_text().splitlines()]


def tool(*mode) -> CommandDriver:
    return CommandDriver([sys.executable, str(TOOL), *mode], timeout=20)


def knowing_disk(driver: CommandDriver) -> CommandDriver:
    """As if a discovery had found the 税控盘, for tools that would fail an identify."""
    driver._devices = {DISK: FoundDevice(slot="1-2", kind="tax_disk", driver="command", device_number=DISK)}
    return driver


def fails(code, func, *args) -> DeviceError:
    with pytest.raises(DeviceError) as caught:
        func(*args)
    assert caught.value.code == code, caught.value
    return caught.value


def test_discovery_identifies_each_usb_device_through_the_tool(log):
    rows = tool("ok").discover()
    assert [(d.slot, d.kind, d.driver, d.device_number) for d in rows] == [
        ("1-1.4.2", "ukey", "command", UKEY),
        ("1-2", "tax_disk", "command", DISK),
        ("1-3", "ukey", "command", None),
    ]  # not identified, still listed
    assert rows[0].monitoring == {"device_number": UKEY, "kpjzsj": "2026-12-15"}
    assert rows[0].usb == {"vid": "101d", "pid": "0005"}
    assert [(r["request"]["op"], r["request"]["slot"], r["request"]["certificate_password"]) for r in log()] == [
        ("identify", "1-1.4.2", ""),
        ("identify", "1-2", ""),
        ("identify", "1-3", ""),
    ]


def test_each_operation_sends_one_request_on_stdin_and_returns_monitoring(log):
    driver = tool("ok")
    driver.discover()
    assert driver.read_status(DISK, SECRETS) == {"device_number": DISK, "kpjzsj": "2026-12-15"}
    assert "already_done" not in driver.upload_summary(DISK, "2026-10", SECRETS)
    driver.clear(UKEY, "2026-10", SECRETS)
    requests = [r["request"] for r in log()][3:]
    assert requests == [
        {
            "op": "read_status",
            "slot": "1-2",
            "kind": "tax_disk",
            "device_number": DISK,
            "period": None,
            "certificate_password": "cert-Pw-4471",
            "device_password": "dev-Pw-9902",
        },
        {
            "op": "upload_summary",
            "slot": "1-2",
            "kind": "tax_disk",
            "device_number": DISK,
            "period": "2026-10",
            "certificate_password": "cert-Pw-4471",
            "device_password": "dev-Pw-9902",
        },
        {
            "op": "clear",
            "slot": "1-1.4.2",
            "kind": "ukey",
            "device_number": UKEY,
            "period": "2026-10",
            "certificate_password": "cert-Pw-4471",
            "device_password": "dev-Pw-9902",
        },
    ]
    assert not any("Pw" in arg for r in log() for arg in r["argv"])


def test_an_invoice_query_sends_its_query_and_returns_the_invoices_apart_from_monitoring(log):
    driver = tool("ok")
    driver.discover()
    answer = driver.query_invoices(UKEY, SECRETS, {"month": "2026-11"})
    assert answer["invoices"] == [{"type": "026", "code": "031260000001", "number": "00000042", "amount": "100.00"}]
    assert log()[-1]["request"]["op"] == "query_invoices" and log()[-1]["request"]["query"] == {"month": "2026-11"}
    assert "invoices" not in driver._devices[UKEY].monitoring  # the device's reading is not the invoice list
    fails(DRIVER_ERROR, tool("slow", "0").query_invoices, DISK, SECRETS, {"month": "2026-11"})  # no list: an error


def test_an_offline_upload_is_its_own_op_and_a_tool_without_it_fails_plainly(log):
    driver = tool("ok")
    driver.discover()
    assert driver.upload_offline(DISK, SECRETS) == {"device_number": DISK, "kpjzsj": "2026-12-15"}
    assert {k: log()[-1]["request"][k] for k in ("op", "device_number", "period")} == {
        "op": "upload_offline",
        "device_number": DISK,
        "period": None,
    }
    fails(UNSUPPORTED, knowing_disk(tool("error", UNSUPPORTED)).upload_offline, DISK, SECRETS)


def test_an_unknown_device_number_is_missing_after_a_fresh_discovery(log):
    fails(DEVICE_MISSING, tool("ok").read_status, "000000000000", SECRETS)
    assert [r["request"]["op"] for r in log()] == ["identify"] * 3


@pytest.mark.parametrize(
    "raw, code",
    [
        ("246", UPLOAD_OVERDUE),
        ("248", DEVICE_LOCKED),
        ("202", MULTI_MONTH_UNREPORTED),
        ("0x09d109", DEVICE_LOCKED),
        ("0x09c000", DEVICE_NOT_STARTED),
        ("0x09240d", KEY_UPDATE_REQUIRED),
        ("0x09e105", CLOCK_ERROR),
        ("ERROR@98", CERT_REPORTED_LOST),
        ("ERROR@97", CERT_REVOKED),
        ("ERROR@103", CERT_STATUS_UNKNOWN),
        ("0x0963c0", CERT_LOCKED),
        *[(f"0x0963c{n}", CERT_PASSWORD_WRONG) for n in range(1, 8)],
        ("0x09D109", DEVICE_LOCKED),
        (" 248 ", DEVICE_LOCKED),
    ],
)
def test_vendor_codes_map_to_stable_codes(raw, code):
    driver = knowing_disk(tool("raw", raw))
    error = fails(code, driver.clear, DISK, "2026-10", SECRETS)
    assert (error.raw_code, error.message) == (raw, "vendor message")


@pytest.mark.parametrize("raw", ["195", "0x09d118", "0x09D118"])
def test_vendor_repeat_codes_are_success(raw):
    driver = knowing_disk(tool("raw", raw))
    assert driver.clear(DISK, "2026-10", SECRETS) == {"already_done": True, "raw_code": raw}


def test_a_repeat_reported_as_ok_keeps_its_monitoring_and_code():
    driver = knowing_disk(tool("repeat", "195"))
    assert driver.upload_summary(DISK, "2026-10", SECRETS) == {
        "clear_count": 4,
        "already_done": True,
        "raw_code": "195",
    }


def test_a_stable_code_wins_over_the_raw_one_and_carries_monitoring():
    driver = knowing_disk(tool("error", RETURN_NOT_FILED))
    error = fails(RETURN_NOT_FILED, driver.clear, DISK, "2026-10", SECRETS)
    assert (error.raw_code, error.monitoring) == ("0x0963c3", {"cert_tries_left": 3})


def test_an_unknown_error_code_falls_back_to_the_raw_code():
    driver = knowing_disk(tool("error", "SOMETHING_ELSE"))
    assert fails(CERT_PASSWORD_WRONG, driver.clear, DISK, "2026-10", SECRETS).raw_code == "0x0963c3"


def test_an_unknown_raw_code_is_a_driver_error_naming_it():
    driver = knowing_disk(tool("raw", "0x0999ff"))
    error = fails(DRIVER_ERROR, driver.clear, DISK, "2026-10", SECRETS)
    assert error.message == "unknown error 0x0999ff: vendor message" and error.raw_code == "0x0999ff"


def test_a_tool_that_does_not_answer_in_time_is_killed_with_its_helpers(tmp_path):
    pid_file = tmp_path / "helper.pid"
    driver = knowing_disk(CommandDriver([sys.executable, str(TOOL), "hang", str(pid_file)], timeout=2))
    started = time.monotonic()
    error = fails(TIMEOUT, driver.read_status, DISK, SECRETS)
    assert time.monotonic() - started < 10 and "2s" in error.message
    helper = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{helper}").exists() and Path(f"/proc/{helper}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline, "the tool's helper process survived the timeout"
        time.sleep(0.05)


def test_output_that_is_not_a_json_answer_is_a_driver_error():
    driver = knowing_disk(tool("garbage"))
    assert "Connecting to device" in fails(DRIVER_ERROR, driver.read_status, DISK, SECRETS).message


def test_a_failing_tool_reports_its_last_stderr_line_without_passwords():
    driver = knowing_disk(tool("crash"))
    error = fails(DRIVER_ERROR, driver.read_status, DISK, SECRETS)
    assert "exited with 3: fatal: cannot open device with *** ***" in error.message
    assert "Pw" not in str(error) and "Pw" not in repr(error.args)


def test_passwords_echoed_by_the_tool_do_not_leak_into_errors():
    driver = knowing_disk(tool("leak"))
    error = fails(CERT_PASSWORD_WRONG, driver.upload_summary, DISK, "2026-10", SECRETS)
    assert error.raw_code == "0x0963c2" and error.message == "证书口令 *** *** 错误"
    assert "Pw" not in str(error) and error.__cause__ is None and error.__context__ is None


def test_a_missing_program_is_a_driver_error():
    driver = knowing_disk(CommandDriver(["/nonexistent/vendor-tool"]))
    assert "/nonexistent/vendor-tool" in fails(DRIVER_ERROR, driver.read_status, DISK, SECRETS).message


def test_env_is_handed_to_the_tool(tmp_path):
    path = tmp_path / "seen.jsonl"
    driver = CommandDriver([sys.executable, str(TOOL), "ok"], env={**os.environ, "FAKE_VENDOR_LOG": str(path)})
    driver.discover()
    assert len(path.read_text().splitlines()) == 3


def test_a_device_is_identified_once_while_it_stays_plugged_in(log, monkeypatch):
    driver = tool("ok")
    driver.discover()
    assert [d.device_number for d in driver.discover()] == [UKEY, DISK, None]
    assert [r["request"]["slot"] for r in log()] == ["1-1.4.2", "1-2", "1-3", "1-3"]  # only the unknown again
    replugged = FoundDevice(
        slot="1-2", kind="tax_disk", driver="none", usb={"vid": "1432", "pid": "07dc", "address": 9}
    )
    monkeypatch.setattr(usb, "scan", lambda: [replugged])
    assert [d.device_number for d in driver.discover()] == [DISK]
    assert [r["request"]["slot"] for r in log()][-1] == "1-2"  # a new address: again


def test_a_device_is_busy_while_an_operation_runs_on_it():
    driver = tool("ok")
    driver.discover()
    driver.program = [sys.executable, str(TOOL), "slow", "2"]
    worker = threading.Thread(target=driver.clear, args=(DISK, "2026-10", SECRETS))
    worker.start()
    deadline = time.monotonic() + 10
    while not [d for d in driver.discover() if d.device_number == DISK and d.busy]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    fails(DEVICE_BUSY, driver.read_status, DISK, SECRETS)
    worker.join()
    rows = driver.discover()
    assert not any(d.busy for d in rows)
    assert rows[1].monitoring == {"device_number": DISK, "clear_count": 5}  # the latest the driver holds


def test_a_tool_that_lists_its_devices_replaces_the_usb_scan(log, monkeypatch):
    monkeypatch.setattr(usb, "scan", lambda: pytest.fail("the USB bus must not be scanned"))
    driver = CommandDriver([sys.executable, str(TOOL), "lists"], timeout=10, lists=True)
    found = driver.discover()
    assert [(d.slot, d.kind, d.device_number, d.driver) for d in found] == [
        ("cab-1:3", "tax_disk", "661100000009", "command"),
        ("cab-1:4", "ukey", None, "command"),
    ]
    assert driver.read_status("661100000009", SECRETS)["kpjzsj"] == "2026-12-15"
    assert [entry["request"]["op"] for entry in log()] == ["list", "read_status"]
    assert log()[-1]["request"]["slot"] == "cab-1:3"


def test_a_tool_not_configured_to_list_is_never_asked(log):
    driver = CommandDriver([sys.executable, str(TOOL), "ok"], timeout=10)
    driver.discover()
    assert "list" not in [entry["request"]["op"] for entry in log()]


def test_a_tool_that_does_not_answer_list_falls_back_to_usb(log):
    driver = CommandDriver([sys.executable, str(TOOL), "ok"], timeout=10, lists=True)
    assert {d.device_number for d in driver.discover()} >= {UKEY, DISK}
    driver.discover()
    assert [entry["request"]["op"] for entry in log()].count("list") == 1  # asked once only


@pytest.mark.parametrize(
    "message, code",
    [
        ("清卡失败：票表比对不通过，请核对申报数据", "RECONCILIATION_FAILED"),
        ("未完成申报/报税", "RETURN_NOT_FILED"),
        ("税盘正在被使用，请稍后", "DEVICE_BUSY"),
        ("当前时间不在允许范围内", "OUTSIDE_WINDOW"),
        ("清卡失败", "CLEAR_FAILED"),
    ],
)
def test_a_vendor_message_alone_maps_through_the_one_table(message, code):
    """issue 28: a tool that answers only with its Chinese message gets the code the message stands for."""
    error = fails(code, knowing_disk(tool("message", message)).clear, DISK, "2026-10", SECRETS)
    assert error.message == message


def test_an_unknown_vendor_message_is_kept_word_for_word():
    error = fails(DRIVER_ERROR, knowing_disk(tool("message", "服务器繁忙(E1024)")).clear, DISK, "2026-10", SECRETS)
    assert "服务器繁忙(E1024)" in error.message
