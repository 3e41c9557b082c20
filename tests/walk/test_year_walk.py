"""The product on every day that matters: the demo firm seeded at many moments of the year, and at
each one the demo checked to be one history (tests/demo/test_seed_history.check_moment) and the
month's counts compared wherever they are shown; at most of them, every page of the menu and
every page linked from them opened and every list endpoint of the API called.

The moments: every day from 25 November to 10 March across a Spring Festival (2027's falls on
6 February), each at another hour; on each month of a whole year the 1st at 00:04 and 00:05, the
deadline day, the day after it and the last day; and days of a past year.

Who looks, and how far, takes turns, so that every role meets every kind of moment while the walk
stays within the time of `make test`:
- the pages are crawled by ROLES[n % 3] at the n-th moment of its kind that is crawled (the admin
  sees every client and every page, the accountant their own clients, the viewer everything
  read-only);
- the winter's days: every third one crawled without the links to filtered lists, next pages and
  exports; on the others the admin opens 需要处理. Counts compared on the working month as the admin;
- the named moments: crawled with those links, but for the minute before a window opens (00:04),
  whose pages are the last day's; counts compared on the working month as the admin (the periods
  API asked status by status) and the accountant, and on the month before or the one after in turn."""

import csv
import datetime as dt
import io
import logging
import os
from collections import Counter

import pytest
import time_machine

from apps.core.months import add_months, format_month
from apps.periods.models import working_month
from apps.periods.rules import SHANGHAI, PeriodStatus
from tests.demo.test_seed_history import DAYS, MONTHS, POINTS, at, check_moment, month_moment
from tests.walk.crawl import crawl

ROLES = ("admin", "kuaiji1", "viewer")
API_LISTS = ("clients/", "devices/", "periods/", "jobs/", "notification-channels/", "reports/month-end/")
# The demo locks at most this many clients on purpose (apps/demo/seed.locked_clients).
DELIBERATELY_LOCKED = 5
PAST_DAYS = (dt.date(2025, 1, 27), dt.date(2025, 2, 10), dt.date(2025, 10, 9), dt.date(2025, 12, 31))

NAMED = [(month, point) for month in MONTHS for point in POINTS]
MOMENTS = (
    # a different hour each day, so mornings, working hours and late evenings all come round; a
    # crawl every third day (role None: no crawl)
    [
        pytest.param(at(day, (7 * day.toordinal()) % 24, 30), None if n % 3 else ROLES[n // 3 % 3], None, id=str(day))
        for n, day in enumerate(DAYS)
    ]
    # the minute before a window opens is counted, the minute it opens crawled too; the month
    # beside the working one counted is the one before and the one after in turn
    + [
        pytest.param(
            (month, point), None if point == "first_0004" else ROLES[n % 3], (-1, 1)[n % 2], id=f"{month:%Y-%m}-{point}"
        )
        for n, (month, point) in enumerate(NAMED)
    ]
    + [pytest.param(at(day, 15), ROLES[n % 3], (-1, 1)[n % 2], id=f"past-{day}") for n, day in enumerate(PAST_DAYS)]
)


def resolve(moment) -> dt.datetime:
    """A month's named moment needs its deadline, which is data: known in the test, not at collection."""
    return moment if isinstance(moment, dt.datetime) else month_moment(*moment)


@pytest.fixture(autouse=True)
def quiet_errors():
    """A 500 is collected by the crawl and reported once, not logged with its traceback each time."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def failures(seen: dict) -> dict:
    return {url: status for url, status in seen.items() if not isinstance(status, int) or status >= 500}


def api_get(client, path: str):
    response = client.get(f"/api/v1/{path}")
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return response.json()


def counts_everywhere(client, month: dt.date, working: dt.date, *, by_status: bool) -> dict[str, dict[str, int]]:
    """The month's clients by status, as each place shows them (`by_status`: the periods API too,
    asked once for each status)."""
    value = format_month(month)
    dashboard = client.get("/", {"month": value})
    places = {
        "dashboard": {
            bar["key"]: bar["count"] for bar in dashboard.context["bars"] if bar["key"] in PeriodStatus.values
        },
        "months API": {code: n for code, n in api_get(client, f"months/{value}/")["counts"].items() if code != "late"},
        "month-end report": api_get(client, f"reports/month-end/?month={value}")["statuses"],
    }
    if by_status:
        places["periods API"] = {
            code: api_get(client, f"periods/?month={value}&status={code}")["count"] for code in PeriodStatus.values
        }
    if month == working:  # the client list shows the working period
        export = client.get("/clients/", {"export": "csv"}).content.decode("utf-8-sig")
        labels = {str(label): code for code, label in PeriodStatus.choices}
        rows = list(csv.reader(io.StringIO(export)))
        column = rows[0].index("本期状态")
        places["client list"] = dict(Counter(labels[row[column]] for row in rows[1:] if row[column]))
    return {place: {code: n for code, n in counts.items() if n} for place, counts in places.items()}


@pytest.mark.parametrize("moment, role, beside", MOMENTS)
def test_every_page_on(moment, role: str | None, beside: int | None, client, db, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # the simulated driver's state files need no disk sync here
    moment = resolve(moment)
    with time_machine.travel(moment, tick=False):
        staff = check_moment(moment, settings, tmp_path)
        today = moment.astimezone(SHANGHAI).date()
        working = working_month(today)
        named = beside is not None

        # the days between two crawls: the admin's 需要处理, the page that changes most with the date
        looker = role or "admin"
        client.force_login(staff[looker])
        seen = crawl(client, ["/"], filters=named) if role else crawl(client, ["/attention/"], limit=1)
        broken = {f"{looker} {url}": status for url, status in failures(seen).items()}
        for path in (*API_LISTS, f"calendar/{today.year}/", f"calendar/{today.year + 1}/") if role else ():
            status = client.get(f"/api/v1/{path}").status_code
            if status >= 500:
                broken[f"{looker} /api/v1/{path}"] = status
        assert broken == {}

        counted = {"admin": [working, add_months(working, beside)] if named else [working]}
        if named:
            counted["kuaiji1"] = [working]
        for who, months in counted.items():
            client.force_login(staff[who])
            for month in months:
                places = counts_everywhere(
                    client, month, working, by_status=named and who == "admin" and month == working
                )
                first = next(iter(places.values()))
                assert all(counts == first for counts in places.values()), (who, format_month(month), places)
        client.force_login(staff["admin"])
        working_counts = api_get(client, f"months/{format_month(working)}/")["counts"]
        assert working_counts[PeriodStatus.LOCKED] <= DELIBERATELY_LOCKED, working_counts
