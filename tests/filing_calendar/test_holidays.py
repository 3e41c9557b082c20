"""The provisional holiday layout (holidays.py) and the 2027 deadlines it gives."""

import datetime as dt

import chinese_calendar
import pytest

from apps.filing_calendar import holidays
from apps.filing_calendar.rules import estimate_deadline
from tests.filing_calendar.published import PUBLISHED_DAYS

d = dt.date


@pytest.fixture
def package_forgets(monkeypatch):
    """As if chinese-calendar knew no year: every answer comes from the provisional layout."""
    monkeypatch.setattr(holidays, "_package_knows", lambda year: False)


def days_of(year):
    day = d(year, 1, 1)
    while day.year == year:
        yield day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_layout_is_the_state_councils_for_the_years_under_the_current_rules(package_forgets, year):
    """2025 and 2026, the two arrangements made under the 2024 revision of the holiday rules,
    day by day: every rest day and make-up workday as published."""
    differ = [day for day in days_of(year) if holidays.is_rest_day(day)[0] != (not chinese_calendar.is_workday(day))]
    assert differ == []


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_the_rule_on_the_layout_gives_the_published_tables(package_forgets, year):
    """2025 and 2026 month by month; 2024, arranged under the old rules (春节 from New Year's
    day, 2-10, not the eve), all but February."""
    got = tuple(estimate_deadline(d(year, m, 1)).date.day for m in range(1, 13))
    differ = [m for m in range(1, 13) if got[m - 1] != PUBLISHED_DAYS[year][m - 1]]
    assert differ == ([2] if year == 2024 else [])
    assert estimate_deadline(d(year, 1, 1)).provisional


def test_a_known_year_is_not_provisional_and_an_unknown_one_is():
    assert holidays.is_rest_day(d(2026, 10, 1)) == (True, False)
    assert holidays.is_rest_day(d(2027, 10, 1)) == (True, True)
    assert holidays.is_rest_day(d(2027, 10, 11)) == (False, True)


def test_2027_provisional_holidays():
    info = holidays.day_info
    assert [day.day for day in days_of(2027) if info(day).holiday == chinese_calendar.Holiday.spring_festival] == [
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
    ]  # from the eve (2-5), eight days
    assert info(d(2027, 1, 1)).holiday == chinese_calendar.Holiday.new_years_day and info(d(2027, 1, 3)).rest
    assert info(d(2027, 4, 5)).holiday == chinese_calendar.Holiday.tomb_sweeping_day  # 清明 on 4-5, a Monday
    assert info(d(2027, 6, 9)).holiday == chinese_calendar.Holiday.dragon_boat_festival  # lunar 5-5
    assert info(d(2027, 9, 15)).holiday == chinese_calendar.Holiday.mid_autumn_festival  # lunar 8-15
    assert all(info(d(2027, 10, n)).rest for n in range(1, 8)) and not info(d(2027, 10, 8)).rest
    assert sum(info(day).makeup_workday for day in days_of(2027)) >= 4  # the long breaks are made up


def test_2027_provisional_deadlines():
    got = [estimate_deadline(d(2027, m, 1)) for m in range(1, 13)]
    assert all(e.provisional for e in got)
    assert got[0].date == d(2027, 1, 20)  # 元旦 1-1..1-3: the third working day after the 15th
    assert d(2027, 2, 22) <= got[1].date <= d(2027, 2, 25)  # 春节 2-5..2-12, all eight days in the window
    assert got[9].date >= d(2027, 10, 22)  # 国庆 1–7
    for month, estimate in zip(range(1, 13), got, strict=True):
        assert estimate.date.month == month and 15 <= estimate.date.day <= 27
        assert not holidays.is_rest_day(estimate.date)[0]


def test_qingming_formula_agrees_with_the_solar_terms():
    for year in range(1990, 2101):
        terms = chinese_calendar.get_solar_terms(d(year, 4, 1), d(year, 4, 30))
        assert holidays.qingming(year) == next(day for day, name in terms if name == "清明"), year


def test_every_day_of_every_year_from_1990_to_2100_has_an_answer():
    for year in range(1990, 2101):
        rest = [day for day in days_of(year) if holidays.is_rest_day(day)[0]]
        assert 100 <= len(rest) <= 130, year  # weekends and about 30 holiday days, less make-ups
        for month in range(1, 13):
            estimate = estimate_deadline(d(year, month, 1))
            assert estimate.date.month == month and estimate.date.day >= 15, (year, month)


def test_lunar_dates_outside_lunardate_are_approximated():
    assert holidays.lunar_to_solar(2100, 1, 1).year == 2100
    assert d(2100, 1, 20) <= holidays.lunar_to_solar(2100, 1, 1) <= d(2100, 2, 21)
