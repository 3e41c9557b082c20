import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import make_client, make_period

OFFICIAL_2026 = [
    "2026-01-20",
    "2026-02-24",
    "2026-03-16",
    "2026-04-20",
    "2026-05-22",
    "2026-06-15",
    "2026-07-15",
    "2026-08-17",
    "2026-09-15",
    "2026-10-26",
    "2026-11-16",
    "2026-12-15",
]


@pytest.mark.django_db
def test_calendar_2026_is_the_official_table(api):
    body = api.get("/api/v1/calendar/2026/").json()
    assert [m["deadline"] for m in body["months"]] == OFFICIAL_2026
    assert {m["source"] for m in body["months"]} == {"official"}
    assert body["months"][0]["month"] == "2026-01" and body["months"][0]["source_label"] == "官方公布"


@pytest.mark.django_db
def test_calendar_of_a_year_without_a_table_is_estimated(api):
    months = api.get("/api/v1/calendar/2027/").json()["months"]
    assert {m["source"] for m in months} == {"provisional"} and len(months) == 12  # its holidays too
    assert months[0]["deadline"] == "2027-01-20" and months[0]["source_label"] == "预估"


@pytest.mark.django_db
def test_calendar_refuses_an_absurd_year(api):
    response = api.get("/api/v1/calendar/1900/")
    assert response.status_code == 400 and "year" in response.json()


@pytest.mark.django_db
def test_periods_filter_by_month_status_client_and_staff(api, users):
    today = timezone.localdate()
    deadline = today + dt.timedelta(days=5)
    mine = make_client(name="甲", staff=users["owner"])
    theirs = make_client(name="乙", staff=users["colleague"], taxpayer_kind="small_scale")
    make_period(mine, month=dt.date(2026, 10, 1), deadline=deadline, summary_uploaded_at=timezone.now())
    make_period(theirs, month=dt.date(2026, 10, 1), deadline=deadline, summary_uploaded_at=timezone.now())
    make_period(mine, month=dt.date(2026, 9, 1), deadline=deadline)

    def names(**query):
        response = api.get("/api/v1/periods/", query)
        assert response.status_code == 200, response.json()
        return sorted((p["client_name"], p["month"], p["status"]) for p in response.json()["results"])

    assert names(month="2026-10") == [("乙", "2026-10", "no_return"), ("甲", "2026-10", "return_due")]
    assert names(status="return_due") == [("甲", "2026-10", "return_due")]
    assert names(status=["summary_due", "no_return"]) == [
        ("乙", "2026-10", "no_return"),
        ("甲", "2026-09", "summary_due"),
    ]
    assert names(staff=users["colleague"].pk) == [("乙", "2026-10", "no_return")]
    assert names(client=mine.pk, month="2026-09") == [("甲", "2026-09", "summary_due")]
    bad = api.get("/api/v1/periods/", {"month": "2026-13"})
    assert bad.status_code == 400 and "month" in bad.json()


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_a_cdn(api, client, users):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/clients/", "/api/v1/devices/", "/api/v1/periods/", "/api/v1/calendar/{year}/"} <= set(paths)
    client.force_login(users["readonly"])
    docs = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    script = client.get("/api/v1/docs/", {"script": ""}).content.decode()
    for text in (docs, script):
        # "cdn." and not "cdn": the page carries a random CSRF token, in which "cdn" can occur.
        assert "cdn." not in text.lower() and "//unpkg" not in text and "jsdelivr" not in text
