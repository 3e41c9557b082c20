import datetime as dt

import pytest

from apps.core.months import add_months
from apps.filing_calendar.models import FilingDeadline, Source, deadline_for, deadlines_for_year
from apps.filing_calendar.rules import OFFICIAL_DAYS, estimate_deadline
from apps.periods.models import Period
from tests.factories import make_client

d = dt.date


@pytest.mark.django_db
@pytest.mark.parametrize("year", [2025, 2026])
def test_official_tables_are_loaded_by_the_migration(year):
    deadlines = deadlines_for_year(year)
    assert [x.date.day for x in deadlines] == list(OFFICIAL_DAYS[year])
    assert {x.source for x in deadlines} == {Source.OFFICIAL}


def test_domain_tables_as_shipped():
    assert OFFICIAL_DAYS[2026] == (20, 24, 16, 20, 22, 15, 15, 17, 15, 26, 16, 15)
    assert OFFICIAL_DAYS[2025] == (15, 20, 17, 18, 22, 16, 15, 15, 15, 27, 17, 15)


@pytest.mark.parametrize(
    "month, expected",
    [
        # chinese-calendar knows 2026: the estimate agrees with the published table where the old rule holds
        (d(2026, 3, 1), d(2026, 3, 16)),  # the 15th is a Sunday → Monday
        (d(2026, 4, 1), d(2026, 4, 20)),  # 清明 (3 days) → +3, then off the weekend
        (d(2026, 8, 1), d(2026, 8, 17)),
        (d(2026, 12, 1), d(2026, 12, 15)),
        (d(2026, 10, 1), d(2026, 10, 22)),  # 国庆 +8: the published 26th is why tables are data
    ],
)
def test_estimate_from_the_holiday_calendar(month, expected):
    assert estimate_deadline(month) == expected


@pytest.mark.parametrize(
    "month, expected",
    [
        (d(2031, 2, 1), d(2031, 2, 17)),  # the 15th is a Saturday → Monday
        (d(2031, 1, 1), d(2031, 1, 15)),  # a Wednesday stays
    ],
)
def test_beyond_the_holiday_package_the_fifteenth_moves_to_a_weekday(month, expected):
    assert estimate_deadline(month) == expected


@pytest.mark.django_db
def test_a_year_without_a_table_is_estimated_and_says_so():
    deadlines = deadlines_for_year(2027)
    assert len(deadlines) == 12 and {x.source for x in deadlines} == {Source.ESTIMATED}
    assert all(x.date.month == x.month.month and x.date.day >= 15 for x in deadlines)


@pytest.mark.django_db
def test_an_admin_entry_replaces_the_estimate_and_periods_follow():
    client = make_client()
    period = Period.for_client(client, d(2026, 12, 1))
    assert period.deadline == estimate_deadline(d(2027, 1, 1))
    FilingDeadline.objects.create(month=d(2027, 1, 1), deadline=d(2027, 1, 19), source=Source.ADMIN)
    assert deadline_for(d(2027, 1, 1)).date == d(2027, 1, 19)
    assert deadline_for(d(2027, 1, 1)).source == Source.ADMIN
    period.refresh_from_db()
    assert period.deadline == d(2027, 1, 19)


@pytest.mark.django_db
def test_period_deadline_is_the_next_months_deadline():
    period = Period.for_client(make_client(), d(2026, 10, 1))
    assert period.deadline == d(2026, 11, 16)
    assert add_months(d(2026, 12, 1), 1) == d(2027, 1, 1)
