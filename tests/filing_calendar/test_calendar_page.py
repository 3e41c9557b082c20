"""征期日历 page: month grid with holidays, deadlines and their source, batches the user may see;
an admin's change (source 管理员录入, audited, carried to the periods); the secret ICS feed."""

import datetime as dt

import pytest
from django.utils import timezone
from icalendar import Calendar

from apps.audit.models import AuditEvent
from apps.filing_calendar.models import CalendarFeed, FilingDeadline, Source
from apps.jobs.models import Job, JobKind
from apps.scheduling.models import Batch
from tests.factories import make_client, make_device, make_period

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]
URL = "/calendar/"


def make_batch(client, start_at, users):
    batch = Batch.objects.create(
        kind=JobKind.CLEAR,
        month=dt.date(2026, 10, 1),
        start_at=start_at,
        per_agent_per_minute=5,
        token=__import__("uuid").uuid4(),
        created_by=users["admin"],
    )
    Job.objects.create(kind=JobKind.CLEAR, device=make_device(client), batch=batch)
    return batch


@pytest.fixture
def batches(users):
    mine = make_client(name="甲", staff=users["owner"])
    theirs = make_client(name="乙", staff=users["colleague"])
    return {
        "mine": make_batch(mine, dt.datetime(2026, 10, 12, 1, 0, tzinfo=dt.UTC), users),
        "theirs": make_batch(theirs, dt.datetime(2026, 10, 13, 1, 0, tzinfo=dt.UTC), users),
    }


def days(response) -> dict:
    return {day.date: day for week in response.context["weeks"] for day in week}


def test_month_grid_holidays_deadline_and_the_day_summary_opens(as_role, batches):
    response = as_role("readonly").get(URL, {"month": "2026-10"})
    grid = days(response)
    assert grid[dt.date(2026, 10, 1)].holiday == "国庆节" and grid[dt.date(2026, 10, 1)].rest
    assert grid[dt.date(2026, 10, 1)].summary_opens
    assert grid[dt.date(2026, 10, 10)].makeup_workday and not grid[dt.date(2026, 10, 10)].rest
    assert grid[dt.date(2026, 9, 28)].in_month is False  # the grid starts on a Monday
    deadline = grid[dt.date(2026, 10, 26)].deadline
    assert deadline.source == Source.OFFICIAL and deadline.period_month == dt.date(2026, 9, 1)
    assert [d for d, day in grid.items() if day.deadline] == [dt.date(2026, 10, 26)]
    html = response.content.decode()
    assert "官方公布" in html and "税总办征科函〔2025〕64号" in html and 'data-date="2026-10-26"' in html
    assert [e.uid for e in grid[dt.date(2026, 10, 12)].entries] == [f"batch-{batches['mine'].pk}@qingka"]
    assert "修改本月申报截止日" not in html  # not an admin


def test_an_accountant_sees_only_batches_holding_own_clients(as_role, batches):
    grid = days(as_role("owner").get(URL, {"month": "2026-10"}))
    assert grid[dt.date(2026, 10, 12)].entries and not grid[dt.date(2026, 10, 13)].entries


def test_the_batches_are_the_calendar_entries_scheduling_registered_once(as_role, batches):
    from apps.filing_calendar import display

    assert list(display.ENTRY_SOURCES) == ["batches"]
    display.register("batches", display.ENTRY_SOURCES["batches"])  # scheduling's ready() run again
    assert len(days(as_role("owner").get(URL, {"month": "2026-10"}))[dt.date(2026, 10, 12)].entries) == 1


def test_a_year_chinese_calendar_does_not_know_shows_provisional_holidays_and_a_provisional_deadline(as_role):
    response = as_role("owner").get(URL, {"month": "2031-05"})
    grid = days(response)
    assert grid[dt.date(2031, 5, 3)].rest and not grid[dt.date(2031, 5, 6)].rest  # Saturday, Tuesday
    assert grid[dt.date(2031, 5, 1)].rest and grid[dt.date(2031, 5, 1)].holiday == "劳动节"  # 5-1..5-5
    html = response.content.decode()
    assert response.context["deadline"].source == Source.PROVISIONAL and "尚未公布" in html and "预估" in html


def test_an_admins_change_is_labelled_admin_audited_and_moves_the_periods(as_role, users):
    period = make_period(make_client(), month=dt.date(2026, 10, 1), deadline=dt.date(2026, 11, 16))
    other = make_period(make_client(), month=dt.date(2026, 9, 1), deadline=dt.date(2026, 10, 26))
    response = as_role("admin").post(
        "/calendar/deadline/", {"month": "2026-11", "deadline": "2026-11-18", "reference": "延期通知"}
    )
    assert response.status_code == 302 and response["Location"] == "/calendar/?month=2026-11"
    row = FilingDeadline.objects.get(month=dt.date(2026, 11, 1))
    assert (row.deadline, row.source, row.reference) == (dt.date(2026, 11, 18), Source.ADMIN, "延期通知")
    period.refresh_from_db()
    other.refresh_from_db()
    assert period.deadline == dt.date(2026, 11, 18) and other.deadline == dt.date(2026, 10, 26)
    event = AuditEvent.objects.get(action="filing_deadline.changed")
    assert event.actor_user == users["admin"] and event.before["source"] == "official"
    assert event.after == {"deadline": "2026-11-18", "source": "admin", "reference": "延期通知"}
    html = as_role("admin").get(URL, {"month": "2026-11"}).content.decode()
    assert "管理员录入" in html and "官方公布</span>" not in html


def test_a_deadline_outside_its_month_is_refused_and_changes_nothing(as_role):
    response = as_role("admin").post("/calendar/deadline/", {"month": "2026-11", "deadline": "2026-12-01"})
    assert response.status_code == 400 and "申报截止日须在2026-11之内" in response.content.decode()
    assert FilingDeadline.objects.get(month=dt.date(2026, 11, 1)).source == Source.OFFICIAL
    assert not AuditEvent.objects.filter(action="filing_deadline.changed").exists()


@pytest.mark.parametrize("role", ["owner", "readonly"])
def test_only_admins_change_deadlines(as_role, role):
    response = as_role(role).post("/calendar/deadline/", {"month": "2026-11", "deadline": "2026-11-18"})
    assert response.status_code == 403
    assert FilingDeadline.objects.get(month=dt.date(2026, 11, 1)).deadline == dt.date(2026, 11, 16)


def test_the_django_admin_change_is_labelled_admin_too(as_role, users):
    users["admin"].is_staff = users["admin"].is_superuser = True
    users["admin"].save()
    row = FilingDeadline.objects.get(month=dt.date(2026, 12, 1))
    response = as_role("admin").post(
        f"/admin/filing_calendar/filingdeadline/{row.pk}/change/", {"deadline": "2026-12-16", "reference": "更正"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.deadline, row.source) == (dt.date(2026, 12, 16), Source.ADMIN)
    assert AuditEvent.objects.filter(action="filing_deadline.changed", object_id=str(row.pk)).exists()


def feed_url(client) -> str:
    client.post("/calendar/feed/")
    return client.get(URL).context["feed_url"]


def parse(response) -> Calendar:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def test_ics_feed_parses_back_with_deadlines_and_own_batches(client, as_role, batches):
    url = feed_url(as_role("owner"))
    assert url.startswith("http://testserver/calendar.ics?key=")
    client.logout()  # a phone has no session
    cal = parse(client.get(url))
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    november = events["deadline-2026-11@qingka"]
    assert november.decoded("dtstart") == dt.date(2026, 11, 16)
    assert str(november["summary"]) == "增值税申报截止（2026-10所属期）"
    assert "官方公布" in str(november["description"]) and "税总办征科函〔2025〕64号" in str(november["description"])
    assert november.walk("VALARM")[0].decoded("trigger") == -dt.timedelta(days=3)
    assert f"batch-{batches['mine'].pk}@qingka" in events
    assert f"batch-{batches['theirs'].pk}@qingka" not in events  # a colleague's client
    batch = events[f"batch-{batches['mine'].pk}@qingka"]
    assert batch.decoded("dtstart") == dt.datetime(2026, 10, 12, 1, 0, tzinfo=dt.UTC)
    assert "1 个设备" in str(batch["summary"])


def test_ics_key_is_signed_per_user_and_revocable(client, as_role, users):
    owner = as_role("owner")
    first = feed_url(owner)
    second = feed_url(owner)  # renewed: the first stops working
    assert first != second
    client.logout()
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200
    assert client.get(second[:-2] + "xx").status_code == 404 and client.get("/calendar.ics").status_code == 404
    users["owner"].is_active = False
    users["owner"].save()
    assert client.get(second).status_code == 404
    users["owner"].is_active = True
    users["owner"].save()
    as_role("owner").post("/calendar/feed/revoke/")
    client.logout()
    assert client.get(second).status_code == 404 and not CalendarFeed.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="calendar_feed.").values_list("action", flat=True))
    assert sorted(actions) == ["calendar_feed.created", "calendar_feed.renewed", "calendar_feed.revoked"]


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.post("/calendar/feed/").status_code == 302 and not CalendarFeed.objects.exists()


def test_now_is_on_the_page(as_role):
    assert days(as_role("owner").get(URL))[timezone.localdate()].in_month
