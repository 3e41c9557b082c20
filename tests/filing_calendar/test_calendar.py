import datetime as dt

import pytest

from apps.core.months import add_months
from apps.filing_calendar.models import FilingDeadline, Source, deadline_for, deadlines_for_year
from apps.filing_calendar.rules import estimate_deadline
from apps.periods.models import Period
from tests.factories import make_client
from tests.filing_calendar.published import PUBLISHED_DAYS

d = dt.date


@pytest.mark.django_db
@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_official_tables_are_loaded_by_the_migrations(year):
    deadlines = deadlines_for_year(year)
    assert [x.date.day for x in deadlines] == list(PUBLISHED_DAYS[year])
    assert {x.source for x in deadlines} == {Source.OFFICIAL}


@pytest.mark.parametrize(
    "month", [d(year, number, 1) for year in PUBLISHED_DAYS for number in range(1, 13)], ids=lambda m: f"{m:%Y-%m}"
)
def test_the_rule_reproduces_every_published_month(month):
    """All 36 months of 2024–2026 from chinese-calendar's holidays and the rule of docs/domain.md."""
    estimate = estimate_deadline(month)
    assert estimate.date == d(month.year, month.month, PUBLISHED_DAYS[month.year][month.month - 1])
    assert not estimate.provisional


@pytest.mark.parametrize(
    "month, expected, why",
    [
        (d(2024, 1, 1), d(2024, 1, 15), "元旦 12-30..1-1: one day inside the window, not a run of three"),
        (d(2025, 6, 1), d(2025, 6, 16), "端午 5-31..6-2: two days inside; the 15th a Sunday → Monday"),
        (d(2026, 2, 1), d(2026, 2, 24), "春节 from 2-15: one day inside; the 15th a rest day → next working day"),
        (d(2026, 10, 1), d(2026, 10, 26), "国庆 1–7: seven working days after the 15th, 10-10 a make-up day"),
        (d(2024, 5, 1), d(2024, 5, 22), "劳动节 1–5: the 5th working day after the 15th, 5-11 worked"),
    ],
)
def test_the_runs_count_only_their_days_inside_the_first_to_the_fifteenth(month, expected, why):
    assert estimate_deadline(month).date == expected, why


@pytest.mark.django_db
def test_a_year_without_a_table_is_estimated_provisionally_and_says_so():
    deadlines = deadlines_for_year(2027)
    assert len(deadlines) == 12 and {x.source for x in deadlines} == {Source.PROVISIONAL}
    assert all(x.date.month == x.month.month and x.date.day >= 15 for x in deadlines)
    assert str(Source.PROVISIONAL.label) == "预估"


@pytest.mark.django_db
def test_an_admin_entry_replaces_the_estimate_and_periods_follow():
    client = make_client()
    period = Period.for_client(client, d(2026, 12, 1))
    assert period.deadline == estimate_deadline(d(2027, 1, 1)).date == d(2027, 1, 20)
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
