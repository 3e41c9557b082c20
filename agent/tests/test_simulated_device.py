"""The simulated device follows docs/domain.md: cycle, windows, returns, lock, zombie, passwords,
faults, persistence, and one operation per device across threads and processes."""

import argparse
import json
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from qingka_agent.drivers.base import (
    CERT_LOCKED,
    CERT_PASSWORD_WRONG,
    DEVICE_BUSY,
    DEVICE_LOCKED,
    DEVICE_MISSING,
    DEVICE_PASSWORD_WRONG,
    DRIVER_ERROR,
    MULTI_MONTH_UNREPORTED,
    NOT_REGISTERED,
    OUTSIDE_WINDOW,
    RECONCILIATION_FAILED,
    RETURN_NOT_FILED,
    SUMMARY_NOT_DONE,
    TRANSFER_FAILED,
    UPLOAD_OVERDUE,
    DeviceError,
    Secrets,
)
from qingka_agent.drivers.simulated import SHANGHAI, SimulatedDriver, invoice_summary, month_invoices
from qingka_agent.simctl import add_sim_commands

GOLD, GOLD_SUB, DISK, UKEY = "661814461322", "661814461323", "539912237528", "537100494968"
GENERAL, SMALL = "91350100M000100Y43", "92320105MA1WMUAP8T"
GOLD_PW = Secrets("12345678", "23456789")
DISK_PW = Secrets("12345678", "88888888")
REPO = Path(__file__).resolve().parents[2]
MONITORING_FIELDS = {
    "device_number",
    "kind",
    "simulated",
    "sub_number",
    "clock",
    "taxpayer_nature",
    "kpjzsj",
    "zxbsrq",
    "bsqsrq",
    "bszzrq",
    "scjzrq",
    "dzkpxe",
    "lxzssyje",
    "lxkpsc",
    "lxkpzs",
    "syrl",
    "cert_tries_left",
    "registered",
    "summary_count",
    "clear_count",
    "offline_pending",
    "invoice_types",
}


class Clock:
    def __init__(self, when: str):
        self.set(when)

    def set(self, when: str) -> None:
        self.now = datetime.fromisoformat(when).replace(tzinfo=SHANGHAI)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sim(tmp_path):
    """sim(devices, clock=..., **top-level sections) → (driver, clock), each in a new directory."""
    runs = iter(range(100))

    def make(devices, clock="2026-11-03T09:00:00", **sections):
        run = tmp_path / f"run{next(runs)}"
        run.mkdir()
        (run / "cabinet.yaml").write_text(json.dumps({"devices": devices, **sections}))
        tick = Clock(clock)
        return SimulatedDriver(run / "cabinet.yaml", run / "state", clock=tick), tick

    return make


def again(driver, clock=None) -> SimulatedDriver:
    """Another driver on the same devices file and state dir, as after an agent restart."""
    return SimulatedDriver(driver.devices_file, driver.dir.parent, clock=clock)


def edit_state(driver, number, **changes) -> None:
    path = driver.dir / "devices" / f"{number}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def gold(**extra):
    return {"device_number": GOLD, "kind": "golden_tax_disk", "taxpayer_id": GENERAL, **extra}


def disk(**extra):
    return {"device_number": DISK, "kind": "tax_disk", "taxpayer_id": SMALL, "taxpayer_nature": "08", **extra}


def fails(code, func, *args) -> DeviceError:
    with pytest.raises(DeviceError) as caught:
        func(*args)
    assert caught.value.code == code, caught.value
    return caught.value


def types_state(monitoring) -> set[int]:
    return {t["state"] for t in monitoring["invoice_types"].values()}


def test_a_new_device_is_due_for_summary_and_reports_every_monitoring_field(sim):
    driver, _ = sim([gold()])
    m = driver.read_status(GOLD, GOLD_PW)
    assert set(m) == MONITORING_FIELDS
    assert m["simulated"] is True and m["kind"] == "golden_tax_disk" and m["sub_number"] == 0
    assert (m["zxbsrq"], m["kpjzsj"]) == ("2026-10-02", "2026-11-15")
    assert (m["bsqsrq"], m["bszzrq"], m["scjzrq"]) == ("2026-11-01", "2026-11-15", "2026-11-15")
    assert m["clock"] == "2026-11-03T09:00:00+08:00" and m["taxpayer_nature"] == "01"
    assert (m["dzkpxe"], m["lxkpsc"], m["cert_tries_left"], m["registered"]) == ("99999.99", 72, 8, True)
    assert m["invoice_types"] == {
        code: {"state": 1, "kpjzsj": "2026-11-15", "zxbsrq": "2026-10-02"} for code in ("004", "007", "026")
    }
    assert (m["summary_count"], m["clear_count"]) == (0, 0)


@pytest.mark.parametrize(
    "now, zxbsrq, kpjzsj, state",
    [
        ("2026-11-03", "2026-10-02", "2026-11-15", 1),  # 待抄报
        ("2026-11-03", "2026-11-01", "2026-11-15", 2),  # 待清卡
        ("2026-11-03", "2026-11-01", "2026-12-15", 3),  # 已完成
        ("2026-11-03", "2026-10-20", "2026-12-15", 3),  # cleared for the month ahead: nothing due
        ("2026-11-16", "2026-11-01", "2026-11-15", 4),  # 已锁死 after kpjzsj, whatever else
        ("2026-11-16", "2026-10-02", "2026-11-15", 4),
    ],
)
def test_state_is_derived_from_the_clock_zxbsrq_and_kpjzsj(sim, now, zxbsrq, kpjzsj, state):
    driver, _ = sim([gold(zxbsrq=zxbsrq, kpjzsj=kpjzsj)], clock=f"{now}T09:00:00")
    assert types_state(driver.read_status(GOLD, GOLD_PW)) == {state}


def test_general_taxpayer_runs_the_cycle_every_month_across_a_year_end(sim):
    driver, clock = sim([gold()])
    for count, (period, work_month, next_deadline) in enumerate(
        [
            ("2026-10", "2026-11", "2026-12-15"),
            ("2026-11", "2026-12", "2027-01-15"),
            ("2026-12", "2027-01", "2027-02-15"),
            ("2027-01", "2027-02", "2027-03-15"),
        ],
        1,
    ):
        clock.set(f"{work_month}-01T00:04:59")
        assert fails(OUTSIDE_WINDOW, driver.upload_summary, GOLD, period, GOLD_PW).monitoring is not None
        clock.set(f"{work_month}-01T00:05:00")
        assert types_state(driver.read_status(GOLD, GOLD_PW)) == {1}  # 待抄报
        m = driver.upload_summary(GOLD, period, GOLD_PW)
        assert "already_done" not in m
        assert (m["zxbsrq"], m["summary_count"], types_state(m)) == (f"{work_month}-01", count, {2})
        clock.set(f"{work_month}-03T10:00:00")
        repeat = driver.upload_summary(GOLD, period, GOLD_PW)  # same month again
        assert (repeat["already_done"], repeat["raw_code"], repeat["summary_count"]) == (True, "195", count)
        m = driver.clear(GOLD, period, GOLD_PW)
        assert "already_done" not in m
        assert (m["kpjzsj"], m["clear_count"], types_state(m)) == (next_deadline, count, {3})
        repeat = driver.clear(GOLD, period, GOLD_PW)
        assert (repeat["already_done"], repeat["raw_code"]) == (True, "195")
        assert (repeat["clear_count"], repeat["summary_count"], repeat["kpjzsj"]) == (count, count, next_deadline)
        clock.set(f"{work_month}-28T23:00:00")
        assert types_state(driver.read_status(GOLD, GOLD_PW)) == {3}  # 已完成 until next month


def test_a_month_not_yet_over_is_outside_the_window_and_a_bad_period_is_refused(sim):
    driver, _ = sim([gold()])
    fails(OUTSIDE_WINDOW, driver.upload_summary, GOLD, "2026-11", GOLD_PW)
    fails(OUTSIDE_WINDOW, driver.clear, GOLD, "2026-11", GOLD_PW)
    fails(DRIVER_ERROR, driver.upload_summary, GOLD, "2026-13", GOLD_PW)


def test_general_taxpayer_needs_its_return_every_month(sim):
    driver, clock = sim([gold()], bureau={"returns_filed_by_default": False})
    for period, work_month in (("2026-10", "2026-11"), ("2026-11", "2026-12")):
        clock.set(f"{work_month}-02T09:00:00")
        driver.upload_summary(GOLD, period, GOLD_PW)
        before = fails(RETURN_NOT_FILED, driver.clear, GOLD, period, GOLD_PW).monitoring
        assert before["clear_count"] == (0 if period == "2026-10" else 1)
        assert driver.file_return(GENERAL, period) == GENERAL
        assert driver.clear(GOLD, period, GOLD_PW)["clear_count"] == before["clear_count"] + 1


def test_small_scale_taxpayer_needs_a_return_only_after_a_quarter(sim):
    driver, clock = sim([disk()], bureau={"returns_filed_by_default": False})
    for period, work_month, return_due in (
        ("2026-10", "2026-11", False),
        ("2026-11", "2026-12", False),
        ("2026-12", "2027-01", True),
        ("2027-01", "2027-02", False),
        ("2027-02", "2027-03", False),
        ("2027-03", "2027-04", True),
    ):
        clock.set(f"{work_month}-02T09:00:00")
        driver.upload_summary(DISK, period, DISK_PW)
        if return_due:
            fails(RETURN_NOT_FILED, driver.clear, DISK, period, DISK_PW)
            driver.file_return(DISK, period)  # named by its device number
        m = driver.clear(DISK, period, DISK_PW)
        assert types_state(m) == {3}
        repeat = driver.clear(DISK, period, DISK_PW)  # small-scale may clear again: a repeat
        assert (repeat["already_done"], repeat["raw_code"], repeat["clear_count"]) == (
            True,
            "0x09d118",
            m["clear_count"],
        )


def test_bureau_sections_name_taxpayers_or_device_numbers(sim):
    driver, clock = sim(
        [gold(), disk(taxpayer_nature="01")], bureau={"returns_filed_by_default": True, "unfiled": {GOLD: ["2026-10"]}}
    )
    for number, secrets in ((GOLD, GOLD_PW), (DISK, DISK_PW)):
        driver.upload_summary(number, "2026-10", secrets)
    fails(RETURN_NOT_FILED, driver.clear, GOLD, "2026-10", GOLD_PW)
    driver.clear(DISK, "2026-10", DISK_PW)  # another taxpayer, filed by default

    driver, clock = sim([gold()], bureau={"returns_filed_by_default": False, "filed": {GENERAL: ["2026-10"]}})
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    driver.clear(GOLD, "2026-10", GOLD_PW)
    with pytest.raises(ValueError):
        driver.file_return("91000000000000000X", "2026-10")


def test_clear_needs_the_summary_of_this_month(sim):
    driver, _ = sim([gold()])
    m = fails(SUMMARY_NOT_DONE, driver.clear, GOLD, "2026-10", GOLD_PW).monitoring
    assert (m["kpjzsj"], m["clear_count"], types_state(m)) == ("2026-11-15", 0, {1})


def test_clear_needs_every_device_of_the_taxpayer_summarised(sim):
    other_taxpayer = {"device_number": UKEY, "kind": "ukey", "taxpayer_id": SMALL}
    driver, _ = sim([gold(), gold(device_number=GOLD_SUB, sub_number=1), other_taxpayer])
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    error = fails(SUMMARY_NOT_DONE, driver.clear, GOLD, "2026-10", GOLD_PW)
    assert GOLD_SUB in error.message and "开票机号 1" in error.message
    driver.upload_summary(GOLD_SUB, "2026-10", GOLD_PW)
    driver.clear(GOLD, "2026-10", GOLD_PW)  # the other taxpayer's UKey does not matter
    driver.clear(GOLD_SUB, "2026-10", GOLD_PW)


def test_reconciliation_failure_changes_nothing_and_only_hits_its_period(sim):
    driver, clock = sim([gold(reconciliation_fails_for=["2026-10"])])
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    m = fails(RECONCILIATION_FAILED, driver.clear, GOLD, "2026-10", GOLD_PW).monitoring
    assert (m["kpjzsj"], m["clear_count"]) == ("2026-11-15", 0)
    clock.set("2026-12-02T09:00:00")  # locked since Nov 16, still works
    driver.upload_summary(GOLD, "2026-11", GOLD_PW)
    assert driver.clear(GOLD, "2026-11", GOLD_PW)["kpjzsj"] == "2027-01-15"


def test_a_device_not_cleared_by_its_deadline_locks_and_late_work_unlocks_it(sim):
    driver, clock = sim([gold()], deadlines={"2026-11": "2026-11-16", "2026-12": "2026-12-21"})
    assert driver.read_status(GOLD, GOLD_PW)["kpjzsj"] == "2026-11-16"  # seeded from the table
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    clock.set("2026-11-16T23:59:59")
    assert types_state(driver.read_status(GOLD, GOLD_PW)) == {2}
    clock.set("2026-11-17T00:00:00")
    assert types_state(driver.read_status(GOLD, GOLD_PW)) == {4}  # 已锁死
    m = driver.clear(GOLD, "2026-10", GOLD_PW)
    assert (m["kpjzsj"], types_state(m)) == ("2026-12-21", {3})


def test_a_device_of_a_region_that_locks_later_gets_a_later_lock_date(sim):
    driver, clock = sim([gold(lock_days_after_deadline=14)], deadlines={"2026-12": "2026-12-15"})
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    m = driver.clear(GOLD, "2026-10", GOLD_PW)
    assert m["kpjzsj"] == "2026-12-29"
    clock.set("2026-12-20T09:00:00")  # past the deadline, before its own lock date: not locked
    assert types_state(driver.read_status(GOLD, GOLD_PW)) == {1}


def test_a_late_lock_stays_in_the_month_of_the_deadline(sim):
    # January's deadline on the 20th: 14 days later is in February, when February's 抄报 is due
    gold_late = gold(lock_days_after_deadline=14, zxbsrq="2026-11-03", kpjzsj="2026-12-15")
    driver, _ = sim([gold_late], clock="2026-12-02T09:00:00", deadlines={"2027-01": "2027-01-20"})
    driver.upload_summary(GOLD, "2026-11", GOLD_PW)
    assert driver.clear(GOLD, "2026-11", GOLD_PW)["kpjzsj"] == "2027-01-31"


def test_a_cabinet_seeds_a_device_as_the_site_last_saw_it(sim):
    """The demo writes each device's dates and counts from the history it seeds (apps/demo/seed.py)."""
    seen = gold(zxbsrq="2026-11-02", kpjzsj="2026-11-30", summary_count=23, clear_count=22)
    driver, clock = sim([seen], clock="2026-11-20T09:00:00", deadlines={"2026-11": "2026-11-16"})
    m = driver.read_status(GOLD, GOLD_PW)
    assert (m["zxbsrq"], m["kpjzsj"], m["summary_count"], m["clear_count"]) == ("2026-11-02", "2026-11-30", 23, 22)
    assert types_state(m) == {2}  # 待清卡: past the deadline, before its own lock date
    clock.set("2026-12-01T00:03:00")
    assert types_state(driver.read_status(GOLD, GOLD_PW)) == {4}


@pytest.mark.parametrize("kind, raw", [("golden_tax_disk", "246"), ("ukey", None)])
def test_offline_invoices_not_uploaded_stop_the_summary(sim, kind, raw):
    secrets = GOLD_PW if kind == "golden_tax_disk" else Secrets("12345678", "88888888")
    driver, _ = sim([gold(kind=kind, offline_invoices_pending=True)])
    error = fails(UPLOAD_OVERDUE, driver.upload_summary, GOLD, "2026-10", secrets)
    assert error.raw_code == raw and error.monitoring["summary_count"] == 0


def test_a_device_first_seen_after_the_deadline_is_not_born_locked(sim):
    driver, _ = sim([gold()], clock="2026-11-20T09:00:00")
    m = driver.read_status(GOLD, GOLD_PW)
    assert (m["kpjzsj"], types_state(m)) == ("2026-11-30", {1})


def test_late_summary_after_the_lock_works(sim):
    driver, clock = sim([gold(zxbsrq="2026-10-02", kpjzsj="2026-11-15")], clock="2026-11-20T09:00:00")
    assert types_state(driver.read_status(GOLD, GOLD_PW)) == {4}
    m = driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    assert (m["zxbsrq"], types_state(m)) == ("2026-11-20", {4})
    assert types_state(driver.clear(GOLD, "2026-10", GOLD_PW)) == {3}


@pytest.mark.parametrize("kind, raw", [("golden_tax_disk", "202"), ("tax_disk", None)])
def test_no_summary_for_more_than_90_days_is_a_zombie(sim, kind, raw):
    secrets = GOLD_PW if kind == "golden_tax_disk" else DISK_PW
    driver, clock = sim([gold(kind=kind, zxbsrq="2026-08-05", kpjzsj="2026-12-15")])
    clock.set("2026-11-04T09:00:00")  # 91 days
    assert types_state(driver.read_status(GOLD, secrets)) == {4}
    error = fails(MULTI_MONTH_UNREPORTED, driver.upload_summary, GOLD, "2026-10", secrets)
    assert error.raw_code == raw and error.monitoring["summary_count"] == 0
    clock.set("2026-11-03T09:00:00")  # 90 days: still allowed
    assert driver.upload_summary(GOLD, "2026-10", secrets)["summary_count"] == 1


def test_wrong_certificate_passwords_cost_tries_until_the_certificate_locks(sim):
    driver, _ = sim([gold(cert_tries_left=3, certificate_password="20261101")])
    right = Secrets("20261101", "23456789")
    wrong = Secrets("12345678", "23456789")
    for left in (2, 1):
        error = fails(CERT_PASSWORD_WRONG, driver.read_status, GOLD, wrong)
        assert error.raw_code == f"0x0963c{left}" and str(left) in error.message
        assert "12345678" not in str(error) and "20261101" not in str(error)
        assert driver.discover()[0].monitoring["cert_tries_left"] == left
    assert driver.read_status(GOLD, right)["cert_tries_left"] == 1  # a right one gives none back
    assert fails(CERT_LOCKED, driver.upload_summary, GOLD, "2026-10", wrong).raw_code == "0x0963c0"
    for operation in (
        lambda: driver.read_status(GOLD, right),
        lambda: driver.upload_summary(GOLD, "2026-10", right),
        lambda: driver.clear(GOLD, "2026-10", right),
    ):
        fails(CERT_LOCKED, operation)
    assert driver.discover()[0].monitoring["summary_count"] == 0


def test_default_passwords_per_kind_and_a_wrong_device_password_costs_no_try(sim):
    driver, _ = sim([gold(), disk()])
    fails(DEVICE_PASSWORD_WRONG, driver.read_status, GOLD, DISK_PW)  # 金税盘's is 23456789
    driver.read_status(DISK, DISK_PW)
    assert driver.read_status(GOLD, GOLD_PW)["cert_tries_left"] == 8


def test_missing_unregistered_and_unknown_devices(sim):
    driver, _ = sim([gold(present=False), disk(registered=False)])
    assert [d.device_number for d in driver.discover()] == [DISK]
    fails(DEVICE_MISSING, driver.read_status, GOLD, GOLD_PW)
    fails(DEVICE_MISSING, driver.read_status, "000000000000", GOLD_PW)
    fails(NOT_REGISTERED, driver.upload_summary, DISK, "2026-10", DISK_PW)
    assert driver.discover()[0].monitoring["registered"] is False
    driver.set_present(GOLD, True)
    assert [d.device_number for d in driver.discover()] == [GOLD, DISK]
    driver.read_status(GOLD, GOLD_PW)


def test_discovery_rows(sim):
    driver, _ = sim([gold(), disk(slot="cab-7")])
    rows = driver.discover()
    assert [(d.slot, d.kind, d.driver, d.device_number, d.simulated, d.busy) for d in rows] == [
        ("sim-1", "golden_tax_disk", "simulated", GOLD, True, False),
        ("cab-7", "tax_disk", "simulated", DISK, True, False),
    ]
    assert all(d.monitoring["simulated"] is True for d in rows)


def test_transfer_failures_change_nothing_but_their_own_counter(sim):
    driver, clock = sim([gold(transfer_failures=3)])
    for _ in range(2):
        m = fails(TRANSFER_FAILED, driver.upload_summary, GOLD, "2026-10", GOLD_PW).monitoring
        assert (m["zxbsrq"], m["summary_count"]) == ("2026-10-02", 0)
    driver = again(driver, clock)
    m = fails(TRANSFER_FAILED, driver.upload_summary, GOLD, "2026-10", GOLD_PW).monitoring  # the 3rd
    assert m["summary_count"] == 0
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    driver.clear(GOLD, "2026-10", GOLD_PW)  # used up: the clear goes through


def test_transfer_failure_on_clear(sim):
    driver, _ = sim([gold()])
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    edit_state(driver, GOLD, transfer_failures=1)
    m = fails(TRANSFER_FAILED, driver.clear, GOLD, "2026-10", GOLD_PW).monitoring
    assert (m["kpjzsj"], m["clear_count"]) == ("2026-11-15", 0)
    assert driver.clear(GOLD, "2026-10", GOLD_PW)["clear_count"] == 1


def test_busy_failures(sim):
    driver, _ = sim([gold(busy_failures=1)])
    fails(DEVICE_BUSY, driver.read_status, GOLD, GOLD_PW)
    driver.read_status(GOLD, GOLD_PW)


def test_state_survives_a_new_driver_and_the_devices_file_only_seeds(sim):
    driver, clock = sim([gold()])
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    fails(CERT_PASSWORD_WRONG, driver.read_status, GOLD, Secrets("x", "23456789"))
    driver.clear(GOLD, "2026-10", GOLD_PW)
    driver.devices_file.write_text(json.dumps({"devices": [gold(zxbsrq="2026-01-01", cert_tries_left=2)]}))
    restarted = again(driver, clock)
    m = restarted.read_status(GOLD, GOLD_PW)
    assert (m["zxbsrq"], m["kpjzsj"], m["cert_tries_left"]) == ("2026-11-03", "2026-12-15", 7)
    assert (m["summary_count"], m["clear_count"]) == (1, 1)
    assert restarted.clear(GOLD, "2026-10", GOLD_PW)["already_done"] is True


def test_a_scan_reports_the_clock_moving_on_and_a_changed_device_at_once(sim):
    driver = again(sim([gold()])[0])
    driver.set_clock("2026-11-03T09:00:00")
    first = driver.discover()[0].monitoring
    driver.set_clock("2026-11-03T09:00:07")
    second = driver.discover()[0].monitoring
    assert second["clock"] == "2026-11-03T09:00:07+08:00" and {**second, "clock": first["clock"]} == first
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    assert driver.discover()[0].monitoring["summary_count"] == first["summary_count"] + 1


def test_clock_file_moves_a_running_agent_from_november_to_december(sim):
    driver = again(sim([gold()])[0])  # on the clock file
    real = datetime.now(SHANGHAI)
    assert abs(driver.now() - real) < timedelta(seconds=5)
    driver.set_clock("2026-11-03T09:00:00")
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    driver.clear(GOLD, "2026-10", GOLD_PW)
    assert types_state(driver.discover()[0].monitoring) == {3}
    again(driver).set_clock("2026-12-01T08:00:00+08:00")
    assert types_state(driver.discover()[0].monitoring) == {1}  # same instance sees the new clock
    driver.set_clock("+30d")
    assert abs(driver.now() - (real + timedelta(days=30))) < timedelta(seconds=5)
    driver.set_clock("-1d12h")
    assert abs(driver.now() - (real - timedelta(days=1, hours=12))) < timedelta(seconds=5)
    driver.set_clock("real")
    assert abs(driver.now() - real) < timedelta(seconds=5)
    with pytest.raises(ValueError):
        driver.set_clock("next tuesday")


def test_devices_file_mistakes_are_named(sim):
    for bad, words in (
        ({"device_number": 661814461322.5}, "12 digits"),
        ({"kind": "floppy"}, "kind"),
        ({"taxpayer_nature": "02"}, "taxpayer_nature"),
        ({"cert_tries_left": 11}, "0-10"),
    ):
        driver, _ = sim([gold(**bad)])
        with pytest.raises(ValueError, match=words):
            driver.discover()
    driver, _ = sim([gold(), gold()])
    with pytest.raises(ValueError, match="twice"):
        driver.discover()
    driver, _ = sim([gold(device_number=661814461322, taxpayer_nature=1)])  # unquoted YAML numbers
    assert driver.read_status(GOLD, GOLD_PW)["taxpayer_nature"] == "01"


def test_the_example_cabinet_works(tmp_path):
    driver = SimulatedDriver(REPO / "agent" / "examples" / "cabinet.yaml", tmp_path, clock=Clock("2026-11-03T09:00:00"))
    rows = driver.discover()
    assert len(rows) == 5 and {d.kind for d in rows} == {"golden_tax_disk", "tax_disk", "ukey"}
    assert rows[0].monitoring["kpjzsj"] == "2026-11-16"
    fails(TRANSFER_FAILED, driver.upload_summary, "539912237528", "2026-10", DISK_PW)


# -- one operation per device, across threads and processes ----------------------------------------

CHILD = """
import sys
from pathlib import Path
from qingka_agent.drivers.base import Secrets
from qingka_agent.drivers.simulated import SimulatedDriver
driver = SimulatedDriver(Path(sys.argv[1]), Path(sys.argv[2]))
for _ in range(int(sys.argv[4])):
    try:
        getattr(driver, sys.argv[3])("661814461322", "2026-10", Secrets("12345678", "23456789"))
    except Exception as exc:
        pass
"""


def start_child(driver, repeat=1) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(driver.devices_file), str(driver.dir.parent), "upload_summary", str(repeat)]
    )


def wait_busy(driver, child) -> None:
    deadline = time.monotonic() + 20
    while not driver.discover()[0].busy:
        assert child.poll() is None and time.monotonic() < deadline, "the child never held the device"
        time.sleep(0.02)


def file_clock_driver(sim, device) -> SimulatedDriver:
    driver = again(sim([device, disk()])[0])
    driver.set_clock("2026-11-03T09:00:00")
    return driver


def test_a_process_killed_during_latency_leaves_the_device_as_it_was(sim):
    driver = file_clock_driver(sim, gold(latency_seconds=30))
    child = start_child(driver)
    wait_busy(driver, child)
    child.send_signal(signal.SIGKILL)
    child.wait()
    m = driver.discover()[0]
    assert not m.busy and (m.monitoring["zxbsrq"], m.monitoring["summary_count"]) == ("2026-10-02", 0)
    edit_state(driver, GOLD, latency_seconds=0)
    assert driver.upload_summary(GOLD, "2026-10", GOLD_PW)["summary_count"] == 1


def test_kills_at_random_moments_never_leave_a_torn_state(sim):
    driver = file_clock_driver(sim, gold(transfer_failures=100000))
    rng = random.Random(7)
    last = 100000
    for _ in range(8):
        child = start_child(driver, repeat=100000)  # each try fails on transfer and saves its counter
        time.sleep(0.6 + rng.random() * 0.5)
        child.send_signal(signal.SIGKILL)
        child.wait()
        state = json.loads((driver.dir / "devices" / f"{GOLD}.json").read_text())
        assert state["transfer_failures"] < last and state["summary_count"] == 0
        assert state["zxbsrq"] == "2026-10-02"
        last = state["transfer_failures"]


def test_a_second_process_on_the_same_device_gets_busy_not_a_wait(sim):
    driver = file_clock_driver(sim, gold(latency_seconds=3))
    child = start_child(driver)
    wait_busy(driver, child)
    started = time.monotonic()
    fails(DEVICE_BUSY, driver.read_status, GOLD, GOLD_PW)
    assert time.monotonic() - started < 1
    assert driver.read_status(DISK, DISK_PW)["device_number"] == DISK  # other devices are free
    assert child.wait(timeout=20) == 0
    assert driver.read_status(GOLD, GOLD_PW)["summary_count"] == 1


def test_two_threads_on_the_same_device(sim):
    driver, _ = sim([gold(latency_seconds=1)])
    results = []

    def run():
        try:
            results.append(driver.upload_summary(GOLD, "2026-10", GOLD_PW)["summary_count"])
        except DeviceError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, results)) == ["1", DEVICE_BUSY]


# -- the `sim` commands ------------------------------------------------------------------------------


def run_sim(argv, capsys) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    add_sim_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status = args.func(args)
    out = capsys.readouterr()
    return status, out.out + out.err


def test_sim_commands(sim, capsys, monkeypatch):
    driver = again(sim([gold(), disk()], bureau={"returns_filed_by_default": False})[0])
    where = ["--devices", str(driver.devices_file), "--state-dir", str(driver.dir.parent)]
    assert run_sim(["sim", "clock", "2026-11-03T09:00:00", *where], capsys)[0] == 0
    assert run_sim(["sim", "unplug", DISK, *where], capsys)[0] == 0
    status, out = run_sim(["sim", "show", *where], capsys)
    assert status == 0 and "2026-11-03 09:00" in out and "待抄报" in out and "未插" in out
    assert run_sim(["sim", "file-return", GOLD, "2026-10", *where], capsys) == (
        0,
        f"return 2026-10 filed for {GENERAL}\n",
    )
    assert run_sim(["sim", "plug", "123", *where], capsys)[0] == 2
    assert run_sim(["sim", "file-return", DISK, "2026-1", *where], capsys)[0] == 2
    assert run_sim(["sim", "clock", "soon", *where], capsys)[0] == 2

    monkeypatch.setenv("QINGKA_SIM_DEVICES", str(driver.devices_file))
    monkeypatch.setenv("QINGKA_STATE_DIR", str(driver.dir.parent))
    assert run_sim(["sim", "plug", DISK], capsys)[0] == 0
    status, out = run_sim(["sim", "show", "--json"], capsys)
    shown = json.loads(out)
    assert shown["clock"].startswith("2026-11-03T09:00:00")
    assert [(d["present"], d["state"], d["monitoring"]["device_number"]) for d in shown["devices"]] == [
        (True, "待抄报", GOLD),
        (True, "待抄报", DISK),
    ]
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    assert driver.clear(GOLD, "2026-10", GOLD_PW)["clear_count"] == 1  # the return filed above


def test_sim_commands_need_their_files(capsys, monkeypatch):
    monkeypatch.delenv("QINGKA_SIM_DEVICES", raising=False)
    monkeypatch.delenv("QINGKA_STATE_DIR", raising=False)
    with pytest.raises(SystemExit, match="QINGKA_SIM_DEVICES"):
        run_sim(["sim", "show"], capsys)


def test_a_summary_uploads_the_months_invoices_and_a_fault_counts_one_twice(sim):
    driver, _clock = sim([gold(), disk(summary_mismatch_for=["2026-10"])])
    uploaded = driver.upload_summary(GOLD, "2026-10", GOLD_PW)["summary"]
    expected = invoice_summary(GOLD, ["004", "007", "026"], 2026 * 12 + 9)
    assert uploaded == expected and set(uploaded) == {"004", "007", "026"}
    for entry in uploaded.values():  # the tax of each invoice, rounded, summed: 13% within a cent per invoice
        assert (
            abs(Decimal(entry["tax"]) - Decimal(entry["amount"]) * Decimal("0.13")) <= Decimal("0.01") * entry["count"]
        )
    assert invoice_summary(GOLD, ["004"], 2026 * 12 + 8) != invoice_summary(GOLD, ["004"], 2026 * 12 + 9)
    faulty = driver.upload_summary(DISK, "2026-10", DISK_PW)["summary"]
    honest = invoice_summary(DISK, ["004", "007", "026"], 2026 * 12 + 9)
    assert faulty["004"]["count"] == honest["004"]["count"] + 1
    assert Decimal(faulty["004"]["amount"]) - Decimal(honest["004"]["amount"]) == Decimal("1000.00")
    assert "summary" not in driver.upload_summary(GOLD, "2026-10", GOLD_PW)  # a repeat uploads nothing


def test_a_month_query_lists_the_months_invoices_the_summary_adds_up(sim):
    driver, _clock = sim([gold()])
    invoices = driver.query_invoices(GOLD, GOLD_PW, {"month": "2026-10"})["invoices"]
    assert invoices == month_invoices(GOLD, ["004", "007", "026"], 2026 * 12 + 9) and invoices
    assert {i["issued_at"][:7] for i in invoices} == {"2026-10"} and all(i["uploaded"] for i in invoices)
    assert len({(i["code"], i["number"]) for i in invoices}) == len(invoices)  # each invoice once
    assert {len(i["code"]) for i in invoices if i["type"] == "026"} == {12}
    assert {len(i["code"]) for i in invoices if i["type"] == "004"} == {10}
    summary = driver.upload_summary(GOLD, "2026-10", GOLD_PW)["summary"]
    assert summary["007"]["count"] == sum(i["type"] == "007" for i in invoices)
    assert Decimal(summary["007"]["amount"]) == sum(Decimal(i["amount"]) for i in invoices if i["type"] == "007")
    assert driver.query_invoices(GOLD, GOLD_PW, {"month": "2026-11"})["invoices"] == []  # the month under way
    assert driver.read_status(GOLD, GOLD_PW)["summary_count"] == 1  # a query changes nothing


def test_an_invoice_issued_after_the_summary_is_found_by_month_and_by_code_and_number(sim):
    driver, clock = sim([gold(), disk()])
    driver.upload_summary(GOLD, "2026-10", GOLD_PW)
    clock.set("2026-11-04T10:30:00")
    issued = driver.issue_invoice(GOLD, Decimal("2400.00"), invoice_type="026", buyer="上海明远贸易有限公司")
    assert (issued["issued_at"], issued["amount"], issued["tax"], issued["uploaded"]) == (
        "2026-11-04T10:30:00+08:00",
        "2400.00",
        "312.00",
        True,
    )
    assert driver.query_invoices(GOLD, GOLD_PW, {"month": "2026-11"})["invoices"] == [issued]
    by_number = {"code": issued["code"], "number": issued["number"]}
    assert again(driver, clock).query_invoices(GOLD, GOLD_PW, by_number)["invoices"] == [issued]  # kept on disk
    assert driver.query_invoices(DISK, DISK_PW, by_number)["invoices"] == []  # another device's
    second = driver.issue_invoice(GOLD, Decimal("10.00"), invoice_type="026")
    assert second["code"] == issued["code"] and second["number"] != issued["number"]
    fails(DRIVER_ERROR, driver.query_invoices, GOLD, GOLD_PW, {})
    fails(DEVICE_PASSWORD_WRONG, driver.query_invoices, GOLD, DISK_PW, {"month": "2026-11"})


def test_offline_invoices_stay_on_the_device_until_uploaded_and_block_their_months_summary(sim):
    driver, clock = sim([gold()], clock="2026-10-20T09:00:00")
    offline = driver.issue_invoice(GOLD, Decimal("500.00"), offline=True)
    assert offline["uploaded"] is False and driver.read_status(GOLD, GOLD_PW)["offline_pending"] == 1
    clock.set("2026-11-03T09:00:00")
    fails(UPLOAD_OVERDUE, driver.upload_summary, GOLD, "2026-10", GOLD_PW)
    assert driver.upload_offline_now(GOLD) == 1
    assert driver.read_status(GOLD, GOLD_PW)["offline_pending"] == 0
    summary = driver.upload_summary(GOLD, "2026-10", GOLD_PW)["summary"]
    honest = invoice_summary(GOLD, ["004", "007", "026"], 2026 * 12 + 9)
    assert summary["004"]["count"] == honest["004"]["count"] + 1  # the offline one, issued as 004, counted


def test_the_upload_offline_operation_uploads_them_with_the_faults_of_the_other_operations(sim):
    driver, clock = sim([gold(busy_failures=1, transfer_failures=1, latency_seconds=0.2)], clock="2026-10-20T09:00:00")
    driver.issue_invoice(GOLD, Decimal("500.00"), offline=True)
    driver.issue_invoice(GOLD, Decimal("80.00"), offline=True)
    clock.set("2026-11-03T09:00:00")
    fails(DEVICE_BUSY, driver.upload_offline, GOLD, GOLD_PW)
    fails(DEVICE_PASSWORD_WRONG, driver.upload_offline, GOLD, DISK_PW)
    assert fails(TRANSFER_FAILED, driver.upload_offline, GOLD, GOLD_PW).monitoring["offline_pending"] == 2
    started = time.monotonic()
    m = again(driver, clock).upload_offline(GOLD, GOLD_PW)  # saved: another process sees it
    assert time.monotonic() - started >= 0.2 and m["offline_pending"] == 0 and "already_done" not in m
    assert driver.read_status(GOLD, GOLD_PW)["offline_pending"] == 0
    assert driver.upload_offline(GOLD, GOLD_PW)["already_done"] is True  # nothing left: a repeat
    assert driver.upload_summary(GOLD, "2026-10", GOLD_PW)["summary_count"] == 1


def test_a_device_seeded_with_offline_invoices_reports_one_until_the_upload(sim):
    driver, _ = sim([gold(offline_invoices_pending=True)])
    assert driver.read_status(GOLD, GOLD_PW)["offline_pending"] == 1
    fails(UPLOAD_OVERDUE, driver.upload_summary, GOLD, "2026-10", GOLD_PW)
    assert driver.upload_offline(GOLD, GOLD_PW)["offline_pending"] == 0
    assert driver.upload_summary(GOLD, "2026-10", GOLD_PW)["summary_count"] == 1


def test_issuing_refuses_a_locked_device_and_amounts_beyond_its_limit(sim):
    driver, clock = sim([gold()])
    with pytest.raises(ValueError, match="limit"):
        driver.issue_invoice(GOLD, Decimal("100000.00"))
    with pytest.raises(ValueError, match="issues"):
        driver.issue_invoice(GOLD, Decimal("1.00"), invoice_type="028")
    clock.set("2026-11-20T09:00:00")  # past kpjzsj 2026-11-15 without a clear
    fails(DEVICE_LOCKED, driver.issue_invoice, GOLD, Decimal("1.00"))


def test_sim_issues_invoices_from_the_command_line(sim, capsys):
    driver = sim([gold()])[0]
    where = ["--devices", str(driver.devices_file), "--state-dir", str(driver.dir.parent)]
    assert run_sim(["sim", "clock", "2026-11-03T09:00:00", *where], capsys)[0] == 0
    status, out = run_sim(["sim", "issue-invoice", GOLD, "88.50", "--offline", *where], capsys)
    assert status == 0 and json.loads(out)["amount"] == "88.50" and json.loads(out)["uploaded"] is False
    assert run_sim(["sim", "upload-offline", GOLD, *where], capsys) == (0, "1 offline invoices uploaded\n")
    with pytest.raises(SystemExit):  # argparse's own message, exit 2
        run_sim(["sim", "issue-invoice", GOLD, "abc", *where], capsys)
    assert run_sim(["sim", "issue-invoice", GOLD, "1.00", "--type", "028", *where], capsys)[0] == 2


def test_a_locked_device_in_a_hall_only_region_refuses_its_late_work_and_others_unlock_online(sim):
    """issue 28: practice differs by region; the simulated bureau models both answers."""
    locked = {"zxbsrq": "2026-10-02", "kpjzsj": "2026-11-15"}
    bureau = {"hall_only_regions": ["上海"]}
    driver, _clock = sim([gold(region="上海", **locked)], clock="2026-11-20T09:00:00", bureau=bureau)
    error = fails(DEVICE_LOCKED, driver.upload_summary, GOLD, "2026-10", GOLD_PW)
    assert error.raw_code == "248" and "办税服务厅" in str(error) and error.monitoring["summary_count"] == 0
    edit_state(driver, GOLD, zxbsrq="2026-11-20")  # summarised at the hall, say: the clear is refused too
    assert fails(DEVICE_LOCKED, driver.clear, GOLD, "2026-10", GOLD_PW).monitoring["clear_count"] == 0

    elsewhere, _clock = sim([gold(region="江苏", **locked)], clock="2026-11-20T09:00:00", bureau=bureau)
    elsewhere.upload_summary(GOLD, "2026-10", GOLD_PW)
    assert types_state(elsewhere.clear(GOLD, "2026-10", GOLD_PW)) == {3}
