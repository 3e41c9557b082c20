"""The cabinet driver against the cabinet emulator, over a real mosquitto started for these tests."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import date, datetime

import paho.mqtt.client as mqtt
import pytest
from mosquitto import MOSQUITTO, Mosquitto
from qingka_agent import cabinet_protocol as proto
from qingka_agent.cabinet_emulator import SHANGHAI, CabinetEmulator, Device, Terminal
from qingka_agent.config import load
from qingka_agent.drivers import base
from qingka_agent.drivers.base import DeviceError, Secrets
from qingka_agent.drivers.cabinet import CabinetDriver
from qingka_agent.drivers.simulated import invoice_summary, month_invoices
from qingka_agent.inventory import build_drivers

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not __import__("os").path.exists(MOSQUITTO), reason="mosquitto is not installed"),
]

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)
T1, T2 = "101234567801", "101234567802"
SECRETS = Secrets("12345678", "88888888")


def _device(number: str, kind: str = "tax_disk", **kwargs) -> Device:
    return Device(plate_num=number, kind=kind, zxbsrq=date(2026, 11, 2), kpjzsj=date(2026, 12, 15), **kwargs)


@pytest.fixture
def broker(tmp_path):
    server = Mosquitto(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def cabinet(broker):
    one, two = Terminal(T1, 8), Terminal(T2, 4)
    one.ports[1].device = _device("661100000001", "golden_tax_disk")
    one.ports[2].device = _device("661100000002", "tax_disk", sub_number=1, nature="08")
    one.ports[5].device = _device("661100000003", "ukey")
    two.ports[3].device = _device("661100000004", "tax_disk")
    emulator = CabinetEmulator("127.0.0.1", broker.port, [one, two], clock=lambda: NOW).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def driver(broker, cabinet):
    d = CabinetDriver(broker.url, [T1, T2], timeout=2, operation_timeout=6, clock=lambda: NOW)
    yield d
    d.close()


def _port(cabinet, number):
    for terminal in cabinet.terminals.values():
        port = terminal.port_of(number)
        if port:
            return port
    raise KeyError(number)


def test_discovery_lists_every_terminal_and_port(driver):
    found = {d.device_number: d for d in driver.discover()}
    assert {n: (d.slot, d.kind) for n, d in found.items()} == {
        "661100000001": (f"{T1}:1", "golden_tax_disk"),
        "661100000002": (f"{T1}:2", "tax_disk"),
        "661100000003": (f"{T1}:5", "ukey"),
        "661100000004": (f"{T2}:3", "tax_disk"),
    }
    reading = found["661100000002"].monitoring or {}
    assert reading["device_number"] == "661100000002" and reading["sub_number"] == 1
    assert reading["taxpayer_nature"] == "08"
    assert (reading["kpjzsj"], reading["zxbsrq"]) == ("2026-12-15", "2026-11-02")
    assert (reading["bsqsrq"], reading["bszzrq"]) == ("2026-12-01", "2026-12-15")
    assert reading["invoice_types"]["004"] == {"state": 1, "kpjzsj": "2026-12-15", "zxbsrq": "2026-11-02"}
    assert reading["dzkpxe"] == "99999.99" and reading["lxkpsc"] == 72
    assert all(d.driver == "cabinet" and not d.simulated for d in found.values())


def test_month_end_summary_then_clear(driver, cabinet):
    number = "661100000001"
    result = driver.upload_summary(number, "2026-11", SECRETS)
    assert result["zxbsrq"] == "2026-12-03" and result["kpjzsj"] == "2027-01-15"  # cbjkxxhc does both
    assert result["invoice_types"]["004"]["state"] == 3
    assert result["summary"] == invoice_summary(number, ["004", "007", "026"], 2026 * 12 + 10)
    assert not result.get("already_done")
    again = driver.clear(number, "2026-11", SECRETS)  # the fresh read says it is done
    assert again["already_done"] is True
    device = _port(cabinet, number).device
    assert (device.summary_count, device.clear_count, device.cbjk_count) == (1, 1, 1)
    assert _port(cabinet, number).power_cycles == 1  # the cabinet restarts the port after 抄报清卡


def test_a_step_that_failed_under_an_s_is_a_failure(driver, cabinet):
    _port(cabinet, "661100000002").device.silent_failures = 1
    with pytest.raises(DeviceError) as failure:
        driver.upload_summary("661100000002", "2026-11", SECRETS)
    assert failure.value.code == base.TRANSFER_FAILED and (failure.value.monitoring or {})["zxbsrq"] == "2026-11-02"
    _port(cabinet, "661100000003").device.return_filed = False
    result = driver.upload_summary("661100000003", "2026-11", SECRETS)  # 抄报 went through
    assert result["zxbsrq"] == "2026-12-03"
    with pytest.raises(DeviceError) as failure:
        driver.clear("661100000003", "2026-11", SECRETS)
    assert failure.value.code == base.RETURN_NOT_FILED


@pytest.mark.parametrize(
    ("setting", "value", "code", "err"),
    [
        ("busy_failures", 1, base.DEVICE_BUSY, "314"),
        ("cert_password", "87654321", base.CERT_PASSWORD_WRONG, "317"),
        ("authorised", False, base.PORT_UNAUTHORIZED, "327"),
        ("clock_wrong", True, base.CLOCK_ERROR, "312"),
        ("fail_with", "316", base.DRIVER_ERROR, "316"),
    ],
)
def test_errors_map_to_the_catalogue(driver, cabinet, setting, value, code, err):
    setattr(_port(cabinet, "661100000004").device, setting, value)
    driver.discover()
    with pytest.raises(DeviceError) as failure:
        driver.clear("661100000004", "2026-11", SECRETS)
    assert (failure.value.code, failure.value.raw_code) == (code, err)
    assert err in str(failure.value)
    sent = [r for r in cabinet.received if r["cmd"] == "cbjkxxhc"]
    assert len(sent) == 1  # never sent again: not a wrong password, not a busy device
    assert _port(cabinet, "661100000004").device.cbjk_count == 0


def test_locked_device_and_missing_device(driver, cabinet):
    device = _port(cabinet, "661100000004").device
    device.kpjzsj, device.return_filed = date(2026, 11, 15), False  # locked, return not filed
    with pytest.raises(DeviceError) as failure:
        driver.clear("661100000004", "2026-11", SECRETS)
    assert (failure.value.code, failure.value.raw_code) == (base.DEVICE_LOCKED, "305")
    assert driver.read_status("661100000004", SECRETS)["invoice_types"]["004"]["state"] == 4

    driver.discover()
    _port(cabinet, "661100000001").device = None  # pulled out after the scan
    with pytest.raises(DeviceError) as failure:
        driver.read_status("661100000001", SECRETS)
    assert failure.value.code == base.DEVICE_MISSING
    with pytest.raises(DeviceError) as failure:
        driver.read_status("999999999999", SECRETS)
    assert failure.value.code == base.DEVICE_MISSING


def test_319_from_the_cabinet(driver, cabinet):
    driver.discover()
    terminal = cabinet.terminals[T1]
    terminal.ports[5].power = 0  # the port is off: the plate is not on the terminal
    with pytest.raises(DeviceError) as failure:
        driver._request(T1, "cbjkxxhc", [{"plate_num": "661100000003"}], 2)
    assert (failure.value.code, failure.value.raw_code) == (base.DEVICE_MISSING, "319")


def test_invoices_by_month_and_by_number(driver):
    number = "661100000001"
    month = 2026 * 12 + 9  # 2026-10
    expected = month_invoices(number, ["004", "007", "026"], month)
    assert len(expected) > 10  # answered in several messages
    result = driver.query_invoices(number, SECRETS, {"month": "2026-10"})
    assert sorted((i["code"], i["number"], i["amount"], i["tax"]) for i in result["invoices"]) == sorted(
        (i["code"], i["number"], i["amount"], i["tax"]) for i in expected
    )
    assert result["device_number"] == number and all(i["uploaded"] for i in result["invoices"])
    one = expected[3]
    found = driver.query_invoices(number, SECRETS, {"code": one["code"], "number": one["number"]})
    assert [(i["code"], i["number"], i["issued_at"]) for i in found["invoices"]] == [
        (one["code"], one["number"], one["issued_at"])
    ]
    assert driver.query_invoices(number, SECRETS, {"code": "1", "number": "2"})["invoices"] == []


def test_password_check_and_power_cycle(driver, cabinet):
    assert driver.certificate_password_ok("661100000002") is True
    _port(cabinet, "661100000002").device.cert_password = "11111111"
    assert driver.certificate_password_ok("661100000002") is False
    driver.power_cycle("661100000002")
    assert _port(cabinet, "661100000002").power_cycles == 1


def test_power_cycle_as_a_job_and_before_the_retry_of_a_timeout(driver, cabinet):
    """重新上电 through the worker: the job restarts the port and reads it; a read that timed out is
    retried once after the port was restarted."""
    from qingka_agent import worker
    from qingka_agent.power import Power

    number = "661100000002"
    switch = Power().switch_for(driver, f"{T1}:2")
    result = worker._operate(driver, "power_cycle", number, None, SECRETS, None, None, switch)
    assert result["outcome"] == "succeeded" and result["monitoring"]["kpjzsj"] == "2026-12-15"
    assert _port(cabinet, number).power_cycles == 1
    asks = []
    original = driver._ask

    def first_read_lost(ter_id, cmd, data, **kwargs):
        asks.append(cmd)
        if cmd == "swxxcx" and asks.count("swxxcx") == 1:
            raise DeviceError(base.TIMEOUT, "no answer")
        return original(ter_id, cmd, data, **kwargs)

    driver._ask = first_read_lost
    result = worker._operate(driver, "read_status", number, None, SECRETS, None, None, switch)
    assert result["outcome"] == "succeeded"
    assert asks == ["swxxcx", "adkhgldkdy", "swxxcx"] and _port(cabinet, number).power_cycles == 2


def test_an_offline_upload_is_unsupported_and_nothing_is_sent(driver, cabinet):
    """The protocol has no command for it (docs/cabinet.md): the job fails with UNSUPPORTED."""
    from qingka_agent import worker

    asks = []
    original = driver._ask
    driver._ask = lambda ter_id, cmd, data, **kwargs: asks.append(cmd) or original(ter_id, cmd, data, **kwargs)
    result = worker._operate(driver, "upload_offline", "661100000002", None, SECRETS, None)
    assert (result["outcome"], result["error_code"]) == ("failed", base.UNSUPPORTED) and asks == []
    assert "每2小时自动上传" in result["message"]


def test_the_protocols_odd_parts(broker, cabinet):
    answers: list[dict] = []
    got = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def on_message(client, userdata, message) -> None:
        answers.append(json.loads(message.payload))
        got.set()

    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.subscribe("probe")
    client.loop_start()
    try:

        def ask(message, wait=2.0):
            answers.clear()
            got.clear()
            client.publish(proto.topic_of(T1), json.dumps(message))
            got.wait(wait)
            return list(answers)

        wrong = proto.request("swxxcx", "probe", "r1", [{"plate_num": "661100000001"}])
        wrong["head"]["protocol"] = "mb_fpkjxt_20200101"
        assert ask(wrong, wait=1.0) == []  # dropped, no answer
        two = ask(proto.request("swxxcx", "probe", "r2", [{}, {}]))  # swxxcx takes several plates
        assert two[0]["head"]["result"] == "s" and two[0]["data"][0]["usb_port_info"] == []
        bad = ask(proto.request("cbjkxxhc", "probe", "r3", [{"plate_num": "1"}, {"plate_num": "2"}]))
        assert bad[0]["head"] | {} == {
            "protocol": proto.PROTOCOL,
            "code_type": "response",
            "cmd": "cbjkxxhc",
            "source_topic": proto.topic_of(T1),
            "random": "r3",
            "result": "f",
        }
        assert bad[0]["data"][0]["err"] == "304"
        assert ask(proto.request("cxzdqbxx", "probe", "r4", [{}]))[0]["data"][0]["err"] == "304"
        everything = ask(proto.request("cxzdqbxx", "probe", "r5", []))[0]["data"][0]
        assert everything["compress_type"] == "zlib"
        ports = proto.decompress(everything["zdqbxx"])["usb_port_manage"]["usb_port_info"]
        assert len(ports) == 8 and ports[0]["plate_infos"]["plate_num"] == "661100000001"
        assert ask(proto.request("nosuchcmd", "probe", "r6", [{}]))[0]["data"][0]["err"] == "302"
    finally:
        client.loop_stop()
        client.disconnect()


def test_replies_are_matched_by_random(driver, cabinet):
    """Answers to many requests at once each reach their own caller."""
    numbers = ["661100000001", "661100000002", "661100000003", "661100000004"] * 3
    results: dict[int, str] = {}

    def read(i, n):
        results[i] = driver.read_status(n, SECRETS)["device_number"]

    threads = [threading.Thread(target=read, args=(i, n)) for i, n in enumerate(numbers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(len(numbers))] == numbers


def test_nothing_waits_forever(broker, cabinet):
    silent = CabinetDriver(broker.url, ["109999999999"], timeout=0.5, operation_timeout=1, clock=lambda: NOW)
    try:
        started = time.monotonic()
        assert silent.discover() == []  # a terminal that never answers lists nothing
        with pytest.raises(DeviceError) as failure:
            silent._ask("109999999999", "swxxcx", [{"plate_num": "1"}])
        assert failure.value.code == base.TIMEOUT
        assert time.monotonic() - started < 5
    finally:
        silent.close()
    unreachable = CabinetDriver(f"mqtt://127.0.0.1:{broker.port + 1}", [T1], timeout=0.5, clock=lambda: NOW)
    try:
        with pytest.raises(DeviceError) as failure:
            unreachable.read_status("661100000001", SECRETS)
        assert failure.value.code == base.DEVICE_MISSING  # listed nowhere: no broker
    finally:
        unreachable.close()


def test_broker_restart_in_the_middle(tmp_path, broker, cabinet):
    """The broker goes away while the cabinet does its 抄报清卡: the answer is lost, the driver
    reads the device when the broker is back, and the operation is neither lost nor done twice."""
    device = _port(cabinet, "661100000001").device
    device.latency = 1.5
    d = CabinetDriver(broker.url, [T1], timeout=1, operation_timeout=4, clock=lambda: NOW)
    try:
        d.discover()
        outcome: dict = {}

        def run():
            try:
                outcome["result"] = d.upload_summary("661100000001", "2026-11", SECRETS)
            except Exception as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(0.6)  # the cabinet is working on it
        broker.stop()
        time.sleep(1.5)
        broker.start()
        worker.join(30)
        assert not worker.is_alive()
        assert "error" not in outcome, outcome
        assert outcome["result"]["zxbsrq"] == "2026-12-03"
        assert (device.cbjk_count, device.summary_count, device.clear_count) == (1, 1, 1)
    finally:
        d.close()


def test_configured_like_the_other_drivers(tmp_path, broker, cabinet):
    config_file = tmp_path / "agent.toml"
    config_file.write_text(
        f'drivers = "cabinet"\ncabinet_broker_url = "{broker.url}"\ncabinet_terminals = ["{T1}", "{T2}"]\n'
        f'cabinet_reply_topic = "qingka_{uuid.uuid4().hex[:8]}"\ncabinet_timeout = "2"\n'
    )
    config = load(config_file, env={})
    (driver,) = build_drivers(config)
    try:
        assert driver.name == "cabinet" and driver.terminals == [T1, T2]
        assert len(driver.discover()) == 4
    finally:
        driver.close()
