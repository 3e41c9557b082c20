"""The demo firm lives on any day: `manage.py demo --no-serve --today D` seeds a firm whose
working period is the right one, is never a wall of one status, and offers work in the bulk
preview whenever work is due; its cabinet matches the seeded data."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from apps.clients.models import Client
from apps.demo import seed as demo
from apps.devices.models import Device
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI
from config import embedded_postgres
from tests.e2e.processes import open_to_embedded_postgres, wait_until

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json
from apps.accounts.models import User
from apps.core import clock
from apps.core.months import add_months, format_month
from apps.jobs.models import JobKind
from apps.periods.models import working_month
from apps.periods.queries import clients_for_month, status_counts
from apps.periods.rules import window_opens
from apps.scheduling.selection import preview

now = clock.now()
admin = User.objects.get(username="admin")
working = working_month()
opened = now >= window_opens(working)
acting = working if opened else add_months(working, -1)
report = {"working": format_month(working), "window_open": opened}
report["working_counts"] = status_counts(clients_for_month(admin, working, now))
report["acting_counts"] = status_counts(clients_for_month(admin, acting, now))
for kind in (JobKind.UPLOAD_SUMMARY, JobKind.CLEAR):
    found = preview(kind, acting, {}, now, now, per_agent_per_minute=10, avoid_busy_hours=False)
    report[kind] = len(found.chosen)
print("REPORT" + json.dumps(report))
"""
# The demo day, and the working period a firm has on it (2026-11 is due 2026-12-15). Two days of
# the real command, one with the working period's window open and one after the deadline with
# the window shut, run side by side (each is a minute of a core: initdb, migrate, seed); every
# day of the winter is seeded and walked in-process by tests/walk/test_year_walk.py.
DAYS = {
    "2026-12-02": "2026-11",
    "2026-12-23": "2026-12",
}


def run_demo(day: str, var_dir: Path) -> dict:
    """The demo on its embedded defaults (PostgreSQL under its own var dir), then what its pages would show."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "QINGKA_CLOCK")}
    env["QINGKA_VAR_DIR"] = str(open_to_embedded_postgres(var_dir))
    manage = [sys.executable, "manage.py"]
    seeded = subprocess.run(
        [*manage, "demo", "--no-serve", "--today", day], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "内置 PostgreSQL embedded" in seeded.stdout, seeded.stdout
    moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(8), SHANGHAI)
    env["QINGKA_CLOCK"] = f"{moment.isoformat()}@{dt.datetime.now(dt.UTC).timestamp()}"
    # --no-serve stopped the embedded server with the demo: the probe starts it again, as the demo would
    with open(var_dir / "postgres.log", "ab") as log:
        server = subprocess.Popen(embedded_postgres.server_argv(var_dir), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: embedded_postgres.answers(var_dir), timeout=30, what="the embedded PostgreSQL")
        probe = subprocess.run([*manage, "shell", "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout.split("REPORT", 1)[1])


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {day: pool.submit(run_demo, day, tmp_path_factory.mktemp(day)) for day in DAYS}
        return {day: run.result() for day, run in runs.items()}


def statuses(counts: dict) -> dict:
    return {code: n for code, n in counts.items() if code != "late"}


@pytest.mark.integration
@pytest.mark.parametrize("day", DAYS)
def test_the_demo_firm_on_any_day(reports, day):
    report = reports[day]
    assert report["working"] == DAYS[day]
    working, acting = statuses(report["working_counts"]), statuses(report["acting_counts"])
    total = sum(working.values())
    assert 100 <= total <= 140
    if report["window_open"]:
        assert max(working.values()) <= 0.8 * total, working
    else:
        # the working period waits for its window; last period's stragglers are what the firm works on
        assert set(code for code, n in working.items() if n) <= {"not_open", "locked"}, working
        # no wall of one unfinished status (a week after the deadline most are done)
        assert max(n for code, n in acting.items() if code != "done") <= 0.8 * total, acting
        assert acting["done"] >= 0.6 * total, acting  # mostly done
    if acting["summary_due"]:
        assert report["upload_summary"] > 0, report
    if acting["clear_due"] + acting["no_return"]:
        assert report["clear"] > 0, report


@pytest.mark.integration
def test_after_the_deadline_there_are_stragglers_of_every_kind(reports):
    acting = reports["2026-12-23"]["acting_counts"]
    for code in ("summary_due", "return_overdue", "clear_due", "locked"):
        assert acting[code] >= 1, (code, acting)
    assert acting["late"] >= acting["locked"] + acting["return_overdue"]


@pytest.mark.django_db
def test_demo_seed_is_idempotent_and_its_cabinet_matches_it(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    moment = dt.datetime(2026, 11, 23, 8, tzinfo=SHANGHAI)
    demo.seed(clients=40, now=moment)
    counts = (Client.objects.count(), Device.objects.count(), Period.objects.count())
    demo.seed(clients=40, now=moment)
    assert counts == (Client.objects.count(), Device.objects.count(), Period.objects.count())
    assert counts[0] == 40 and counts[1] == 40 + 2 and counts[2] == 40 * (demo.HISTORY_MONTHS - 1)
    assert not Client.objects.filter(taxpayer_id_legacy=True).exists()
    assert not Device.objects.filter(simulated=False).exists()
    cabinet = yaml.safe_load(demo.cabinet_path().read_text(encoding="utf-8"))
    by_number = {spec["device_number"]: spec for spec in cabinet["devices"]}
    for device in Device.objects.all():
        spec = by_number[device.number]
        assert (spec["kpjzsj"], spec["present"]) == (device.lock_date.isoformat(), device.present)
    # each fault is named on its client and set up in the cabinet
    for n, (_fault, note) in demo.FAULTS.items():
        client = Client.objects.get(taxpayer_id=demo.demo_credit_code(n))
        assert note in client.notes
    wrong = by_number[f"66{5:010d}"]
    assert wrong["certificate_password"] == "87654321"
    assert by_number[f"66{23:010d}"]["transfer_failures"] == 2
    assert by_number[f"66{35:010d}"]["offline_invoices_pending"] is True
    assert by_number[f"66{17:010d}"]["present"] is False
    assert cabinet["bureau"]["unfiled"] == {demo.demo_credit_code(11): ["2026-10"]}
    locked = Device.objects.get(number=f"66{29:010d}")
    assert locked.lock_state(moment.date()) is True
