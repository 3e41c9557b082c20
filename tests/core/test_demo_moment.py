"""Which demo data a run of `manage.py demo` keeps: data seeded for the moment it asks for, or on
real time within the same working period; anything else is seeded afresh (README, "The demo's moment")."""

import datetime as dt

import pytest
import time_machine

from apps.demo import seed as demo
from apps.demo.management.commands.demo import record_seeded, remove_demo_state, seeded_record_path, stale_reason
from apps.periods.rules import SHANGHAI

pytestmark = pytest.mark.django_db
MOMENT = dt.datetime(2026, 12, 10, 8, tzinfo=SHANGHAI)


@pytest.fixture
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_no_demo_data_is_never_stale(var):
    assert stale_reason(MOMENT) is None
    assert stale_reason(None) is None


def test_data_for_a_set_moment_serves_that_moment_only(var):
    demo.seed(clients=5, now=MOMENT)
    record_seeded(MOMENT)
    assert stale_reason(MOMENT) is None
    assert "2026-12-10T08:00:00+08:00" in stale_reason(MOMENT + dt.timedelta(days=1))
    assert stale_reason(None)  # real time over a set moment's data


def test_data_without_a_record_is_seeded_afresh(var):
    demo.seed(clients=5, now=MOMENT)
    assert stale_reason(MOMENT)
    record_seeded(MOMENT)
    remove_demo_state()  # the cabinet, the agent's state and the record go; logs stay
    assert not seeded_record_path().exists() and not demo.cabinet_path().exists()
    assert stale_reason(MOMENT)


def test_real_time_data_lasts_while_its_working_period_does(var, settings):
    settings.QINGKA_CLOCK = ""
    with time_machine.travel(dt.datetime(2026, 12, 2, 9, tzinfo=SHANGHAI), tick=False):
        demo.seed(clients=5)
        record_seeded(None)
        assert stale_reason(None) is None
    with time_machine.travel(dt.datetime(2026, 12, 14, 9, tzinfo=SHANGHAI), tick=False):
        assert stale_reason(None) is None  # November's period still works until its deadline
    with time_machine.travel(dt.datetime(2027, 1, 5, 9, tzinfo=SHANGHAI), tick=False):
        assert "2026-12-02" in stale_reason(None)
