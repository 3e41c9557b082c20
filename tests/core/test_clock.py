"""One clock: the site's and the agent's readings of QINGKA_CLOCK agree, and a set clock moves on."""

import datetime as dt
import time

import pytest
from qingka_agent import clock as agent_clock

from apps.core import clock
from apps.core.checks import clock_is_real

SETTINGS = ["", "2026-11-03T00:04:00+08:00@1763900000", "2026-01-01T09:30:00+00:00@1700000000.5"]


@pytest.mark.parametrize("setting", SETTINGS)
def test_site_and_agent_read_one_offset(setting):
    assert clock.offset_of(setting) == agent_clock.offset_of(setting)


@pytest.mark.parametrize(
    "bad", ["2026-11-03", "2026-11-03T00:04:00@1763900000", "yesterday@1", "2026-11-03T00:04:00+08:00"]
)
def test_a_malformed_setting_is_refused_on_both_sides(bad):
    with pytest.raises(ValueError):
        clock.offset_of(bad)
    with pytest.raises(ValueError):
        agent_clock.offset_of(bad)


def test_a_set_clock_starts_at_its_moment_and_moves_on(settings, monkeypatch):
    moment = dt.datetime(2026, 12, 1, 0, 4, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    settings.QINGKA_CLOCK = clock.setting_for(moment)
    monkeypatch.setenv("QINGKA_CLOCK", settings.QINGKA_CLOCK)
    first = clock.now()
    assert abs(first - moment) < dt.timedelta(seconds=2)
    assert clock.today() == dt.date(2026, 12, 1)
    assert abs(agent_clock.now() - first) < dt.timedelta(seconds=2)
    time.sleep(0.05)
    assert clock.now() > first


def test_the_real_clock_is_not_moved(settings):
    settings.QINGKA_CLOCK = ""
    assert abs(clock.now() - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=1)


def test_deploy_check_refuses_a_set_clock(settings):
    settings.QINGKA_CLOCK = ""
    assert clock_is_real(None) == []
    settings.QINGKA_CLOCK = "2026-11-03T00:04:00+08:00@1763900000"
    assert [e.id for e in clock_is_real(None)] == ["qingka.E004"]
