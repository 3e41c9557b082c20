"""No year from 1990 to 2100 makes the calendar's pages, its ICS feed or its API fail, and a
deadline from provisional holidays says 预估 wherever it shows."""

import datetime as dt

import pytest
import time_machine
from icalendar import Calendar

from apps.filing_calendar import services
from apps.filing_calendar.models import Source

pytestmark = pytest.mark.django_db
YEARS = range(1990, 2101)


def test_every_month_page_and_year_page(as_role):
    client = as_role("admin")
    for year in YEARS:
        month = (year * 7) % 12 + 1  # a different month each year; all twelve over the range
        response = client.get("/calendar/", {"month": f"{year}-{month:02d}"})
        assert response.status_code == 200, year
        assert response.context["month"] == dt.date(year, month, 1)
        if response.context["deadline"].source == Source.PROVISIONAL:
            assert "预估" in response.content.decode()
        response = client.get(f"/calendar/{year}/")
        assert response.status_code == 200, year
        assert len(response.context["deadlines"]) == 12


def test_every_month_of_one_unknown_year_and_the_edges(as_role):
    client = as_role("readonly")
    for month in range(1, 13):
        assert client.get("/calendar/", {"month": f"2031-{month:02d}"}).status_code == 200
    for text in ("1990-01", "2100-12", "1989-12", "2101-01", "0-0", "abc", "9999999-1", "2027-13"):
        assert client.get("/calendar/", {"month": text}).status_code == 200, text
    assert client.get("/calendar/1989/").status_code == 404
    assert client.get("/calendar/2101/").status_code == 404


def test_the_api_answers_for_every_year(api):
    for year in YEARS:
        response = api.get(f"/api/v1/calendar/{year}/")
        assert response.status_code == 200, year
        months = response.json()["months"]
        assert len(months) == 12 and all(m["deadline"][5:7] == m["month"][5:] for m in months)
        assert all(m["source_label"] == "预估" for m in months if m["source"] == "provisional")
    assert api.get("/api/v1/calendar/1989/").status_code == 400


@pytest.mark.parametrize("year", [1990, 2003, 2026, 2027, 2064, 2100])
def test_the_ics_feed_on_any_day(users, client, year):
    feed = services.new_feed(users["owner"])
    key = services.feed_key(feed)
    for month in (1, 6, 12):
        with time_machine.travel(dt.datetime(year, month, 10, 2, tzinfo=dt.UTC), tick=False):
            response = client.get("/calendar.ics", {"key": key})
        assert response.status_code == 200, (year, month)
        events = [c for c in Calendar.from_ical(response.content).walk("VEVENT")]
        assert len(events) >= 13
        for event in events:
            if "预估" in str(event["description"]):
                assert "预估" in str(event["summary"])


def test_a_provisional_deadline_is_labelled_on_the_dashboard(as_role):
    with time_machine.travel(dt.datetime(2026, 12, 20, 2, tzinfo=dt.UTC), tick=False):
        html = as_role("owner").get("/").content.decode()
    assert "2027" in html and "预估" in html  # 2026-12's return, due 2027-01-20
