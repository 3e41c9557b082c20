"""The published table, entered once: from December 需要处理 shows admins (only) that next year's
征期 is not entered, the year page takes the twelve dates typed or pasted, checked field by field,
and a notification goes out once."""

import datetime as dt

import pytest
import time_machine

from apps.attention.rows import Kind, rows_for
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.filing_calendar.forms import parse_published
from apps.filing_calendar.models import FilingDeadline, Source, deadlines_for_year
from apps.notifications.events import deadlines_missing
from apps.notifications.models import Event, Notification
from tests.factories import make_client, make_period

pytestmark = pytest.mark.django_db
d = dt.date
DAYS_2027 = (20, 25, 15, 20, 21, 15, 15, 16, 16, 26, 15, 15)
TABLE_2027 = {f"m{n}": f"2027-{n:02d}-{day}" for n, day in enumerate(DAYS_2027, 1)}
NOTICE_2027 = """一、3月、6月、7月、11月、12月申报纳税期限分别截至当月15日。
二、1月1日至3日放假3天，1月申报纳税期限顺延至1月20日。
三、2月5日至12日放假8天，申报纳税期限顺延至2月24日。
四、4月3日至5日放假3天，申报纳税期限顺延至4月20日。
五、5月1日至5日放假5天，申报纳税期限顺延至5月21日。
六、8月15日为星期日，8月申报纳税期限顺延至8月16日。
七、9月15日为中秋节，9月申报纳税期限顺延至9月16日。
八、10月1日至7日放假7天，10月申报纳税期限顺延至10月26日。"""


def at(day: dt.date, hour: int = 2):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC), tick=False)


def reminder_rows(user):
    return [row for row in rows_for(user, clock.now()) if row.kind == Kind.DEADLINES_MISSING]


def test_admins_alone_are_reminded_from_december_until_the_table_is_in(users):
    for month in range(1, 13):  # 2026's own table is published: only December asks for 2027's
        with at(d(2026, month, 10)):
            rows = reminder_rows(users["admin"])
            assert [row.reason for row in rows] == (["2027年征期尚未录入官方日期"] if month == 12 else []), month
            assert reminder_rows(users["owner"]) == [] and reminder_rows(users["readonly"]) == []
    for month in (1, 6, 11):  # not entered by January: the reminder stays through 2027
        with at(d(2027, month, 3)):
            assert [row.actions for row in reminder_rows(users["admin"])] == [{"deadlines": 2027}]
    FilingDeadline.objects.bulk_create(
        FilingDeadline(month=d(2027, n, 1), deadline=d(2027, n, 20), source=Source.OFFICIAL) for n in range(1, 13)
    )
    for day in (d(2026, 12, 1), d(2026, 12, 31), d(2027, 6, 1)):
        with at(day):
            assert reminder_rows(users["admin"]) == []
    with at(d(2027, 12, 2)):
        assert [row.reason for row in reminder_rows(users["admin"])] == ["2028年征期尚未录入官方日期"]


def test_the_row_and_its_button_on_the_attention_page(as_role):
    with at(d(2026, 12, 6)):
        html = as_role("admin").get("/attention/").content.decode()
        assert "2027年征期尚未录入官方日期" in html and 'href="/calendar/2027/#published"' in html
        assert "2027年征期尚未录入官方日期" not in as_role("owner").get("/attention/").content.decode()


def test_only_an_admin_gets_the_form_and_may_post_it(as_role, client):
    with at(d(2026, 12, 6)):
        page = as_role("admin").get("/calendar/2027/")
        assert page.context["form"] is not None and "2027年征期尚未录入官方日期" in page.content.decode()
        assert page.context["form"]["m1"].value() is None  # an estimate is never offered as the official date
        for role in ("owner", "readonly"):
            response = as_role(role).get("/calendar/2027/")
            assert response.status_code == 200 and response.context["form"] is None
            assert "预估" in response.content.decode()
            assert as_role(role).post("/calendar/2027/published/", {**TABLE_2027, "reference": "x"}).status_code == 403
        client.logout()
        assert client.post("/calendar/2027/published/", {**TABLE_2027, "reference": "x"}).status_code == 302
        assert client.get("/calendar/2027/").status_code == 302  # to the login page
        assert as_role("admin").post("/calendar/2200/published/", TABLE_2027).status_code == 404
    assert not FilingDeadline.objects.filter(month__year=2027).exists()


def test_bad_input_is_refused_field_by_field_and_changes_nothing(as_role):
    bad = {
        **TABLE_2027,
        "m2": "2027-03-01",
        "m3": "2027-03-10",
        "m4": "",
        "m5": "五月",
        "reference": "",
    }
    with at(d(2026, 12, 6)):
        response = as_role("admin").post("/calendar/2027/published/", bad)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["m2"] == ["申报截止日须在2027-02之内"]
    assert errors["m3"] == ["申报截止日不会早于当月15日"]
    assert errors["m5"] == ["请输入有效的日期"]
    assert errors["m4"] == ["请填写2027-04的申报截止日"]
    assert errors["reference"] == ["请填写依据（公布征期的文件）"]
    assert set(errors) == {"m2", "m3", "m4", "m5", "reference"}
    assert not FilingDeadline.objects.filter(month__year=2027).exists()
    assert not AuditEvent.objects.filter(action="filing_deadline.changed").exists()


def test_the_twelve_dates_are_stored_official_audited_and_the_periods_follow(as_role):
    period = make_period(make_client(), month=d(2026, 12, 1), deadline=d(2027, 1, 20))
    with at(d(2026, 12, 6)):
        response = as_role("admin").post(
            "/calendar/2027/published/", {**TABLE_2027, "m1": "2027-01-19", "reference": "税总办征科函〔2026〕1号"}
        )
    assert response.status_code == 302 and response["Location"] == "/calendar/2027/"
    deadlines = deadlines_for_year(2027)
    assert {x.source for x in deadlines} == {Source.OFFICIAL} and deadlines[0].date == d(2027, 1, 19)
    assert set(FilingDeadline.objects.filter(month__year=2027).values_list("reference", flat=True)) == {
        "税总办征科函〔2026〕1号"
    }
    assert AuditEvent.objects.filter(action="filing_deadline.changed").count() == 12
    period.refresh_from_db()
    assert period.deadline == d(2027, 1, 19)


def test_the_notice_pasted_fills_the_months(as_role):
    with at(d(2026, 12, 6)):
        response = as_role("admin").post(
            "/calendar/2027/published/", {"paste": NOTICE_2027, "reference": "税总办征科函〔2026〕1号"}
        )
    assert response.status_code == 302
    assert [x.date.day for x in deadlines_for_year(2027)] == [20, 24, 15, 20, 21, 15, 15, 16, 16, 26, 15, 15]


@pytest.mark.parametrize(
    "text, days, problems",
    [
        ("\n".join(f"2027-{n:02d}-{15 + n % 3}" for n in range(1, 13)), [15 + n % 3 for n in range(1, 13)], 0),
        ("20 24 15 20 21 15 15 16 16 26 15 15", [20, 24, 15, 20, 21, 15, 15, 16, 16, 26, 15, 15], 0),
        ("2026-01-20", [], 1),  # another year
        ("2月30日", [], 1),
        ("看不懂", [], 1),
    ],
)
def test_parse_published(text, days, problems):
    found, trouble = parse_published(text, 2027)
    assert [found[n].day for n in sorted(found)] == days and len(trouble) == problems


def test_a_paste_missing_months_names_them(as_role):
    with at(d(2026, 12, 6)):
        response = as_role("admin").post("/calendar/2027/published/", {"paste": "1月20日 2月24日", "reference": "x"})
    errors = response.context["form"].errors
    assert response.status_code == 400 and "m1" not in errors and errors["m3"] == ["请填写2027-03的申报截止日"]


def test_the_notification_goes_out_once_a_year_from_december(users):
    for month in range(1, 12):
        with at(d(2026, month, 10), hour=3):  # 11:00 in Shanghai
            assert deadlines_missing(clock.now()) == 0
    with at(d(2026, 12, 1), hour=0):  # 08:00: before the digest hour
        assert deadlines_missing(clock.now()) == 0
    with at(d(2026, 12, 1), hour=3):
        assert deadlines_missing(clock.now()) == 1
        assert deadlines_missing(clock.now()) == 0
    notification = Notification.objects.get(event=Event.DEADLINES_MISSING)
    assert notification.key == "deadlines_missing:2027" and "2027年征期尚未录入官方日期" in notification.subject
    assert notification.url.endswith("/calendar/2027/")
    assert list(notification.recipients.all()) == [users["admin"]]
