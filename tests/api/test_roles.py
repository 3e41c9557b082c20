"""Every role on every API endpoint and action. 管理员: everything; the client's own 会计: reads it,
runs its jobs, records its returns; a colleague 会计: the client does not exist for them; 只读: reads,
403 on every action; anonymous: 401. The outsider never gets the client's data."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.clients.models import Client
from apps.core.months import add_months, month_start
from apps.devices.models import Device
from apps.jobs.models import Job, JobKind, JobState
from apps.periods.models import Period
from tests.factories import credit_code, make_agent, make_api_key, make_client, make_device, make_period

ROLES = ["admin", "owner", "colleague", "readonly", "anonymous"]
SECRET_NAME = "南京机密客户有限公司"


@pytest.fixture
def world(users):
    agent, _token = make_agent()
    agent.online = True
    agent.save()
    mine = make_client(name=SECRET_NAME, staff=users["owner"])
    device = make_device(mine, agent=agent, present=True, number="539900000001")
    last_month = add_months(month_start(timezone.localdate()), -1)
    period = make_period(
        mine,
        month=last_month,
        deadline=timezone.localdate() + dt.timedelta(days=10),
        summary_uploaded_at=timezone.now(),
    )
    ready = make_period(  # summarised and filed: ready to clear
        mine,
        month=add_months(last_month, -1),
        deadline=timezone.localdate() + dt.timedelta(days=10),
        summary_uploaded_at=timezone.now(),
        return_filed_on=timezone.localdate(),
    )
    failed = Job.objects.create(
        kind=JobKind.CLEAR, device=device, period=ready, state=JobState.FAILED, attempts=1, error_code="TIMEOUT"
    )
    queued = Job.objects.create(
        kind=JobKind.UPLOAD_SUMMARY, device=device, period=period, state=JobState.QUEUED, attempts=1
    )
    theirs = make_client(name="苏州同事客户有限公司", staff=users["colleague"])
    return {
        "client": mine,
        "device": device,
        "period": period,
        "ready": ready,
        "failed": failed,
        "queued": queued,
        "theirs": theirs,
        "agent": agent,
    }


def api_as(users, role) -> APIClient:
    api = APIClient()
    if role != "anonymous":
        api.credentials(HTTP_AUTHORIZATION=f"Token {make_api_key(users[role])}")
    return api


def mentions_the_client(response, world) -> bool:
    text = response.content.decode()
    return any(secret in text for secret in (SECRET_NAME, world["client"].taxpayer_id, world["device"].number))


def assert_no_data(response, world):
    """A refused request names nothing of the client."""
    assert not mentions_the_client(response, world), response.content.decode()


# (method, path, body, {role: status}); paths and bodies are filled in from the world.
READ = {"admin": 200, "owner": 200, "colleague": 404, "readonly": 200, "anonymous": 401}
LIST = {"admin": 200, "owner": 200, "colleague": 200, "readonly": 200, "anonymous": 401}
ADMIN_WRITES = {"admin": 201, "owner": 403, "colleague": 403, "readonly": 403, "anonymous": 401}
ADMIN_CHANGES = {"admin": 200, "owner": 403, "colleague": 403, "readonly": 403, "anonymous": 401}
OPERATOR_ACTS = {"admin": 200, "owner": 200, "colleague": 404, "readonly": 403, "anonymous": 401}

ENDPOINTS = [
    ("get", "/api/v1/clients/", None, LIST),
    ("get", "/api/v1/clients/{client}/", None, READ),
    (
        "post",
        "/api/v1/clients/",
        {"name": "新客户", "taxpayer_id": credit_code(990001), "taxpayer_kind": "general"},
        ADMIN_WRITES,
    ),
    ("patch", "/api/v1/clients/{client}/", {"notes": "改了"}, ADMIN_CHANGES),
    (
        "put",
        "/api/v1/clients/{client}/",
        {"name": "改名", "taxpayer_id": "{taxpayer_id}", "taxpayer_kind": "general"},
        ADMIN_CHANGES,
    ),
    ("get", "/api/v1/devices/", None, LIST),
    ("get", "/api/v1/devices/{device}/", None, READ),
    (
        "post",
        "/api/v1/devices/",
        {"kind": "ukey", "number": "537100494968", "client": "{client}", "sub_number": 1},
        ADMIN_WRITES,
    ),
    ("patch", "/api/v1/devices/{device}/", {"slot": "1-1.4"}, ADMIN_CHANGES),
    ("get", "/api/v1/periods/", None, LIST),
    ("get", "/api/v1/periods/{period}/", None, READ),
    (
        "post",
        "/api/v1/periods/{period}/file-return/",
        {"filed_on": "{today}", "declared_sales": "1000.00", "declared_tax": "130.00"},
        OPERATOR_ACTS,
    ),
    ("get", "/api/v1/jobs/", None, LIST),
    ("get", "/api/v1/jobs/{failed}/", None, READ),
    (
        "post",
        "/api/v1/jobs/",
        {"kind": "clear", "period": "{ready}"},
        {"admin": 201, "owner": 201, "colleague": 400, "readonly": 403, "anonymous": 401},
    ),
    (
        "post",
        "/api/v1/jobs/",
        {"kind": "upload_and_clear", "period": "{period}"},
        # the period's return is not recorded: refused with the client page's reason
        {"admin": 400, "owner": 400, "colleague": 400, "readonly": 403, "anonymous": 401},
    ),
    (
        "post",
        "/api/v1/jobs/",
        {"kind": "read_status", "device": "{device}"},
        {"admin": 201, "owner": 201, "colleague": 400, "readonly": 403, "anonymous": 401},
    ),
    ("post", "/api/v1/jobs/{queued}/cancel/", None, OPERATOR_ACTS),
    ("post", "/api/v1/jobs/{failed}/retry/", None, OPERATOR_ACTS),
    ("get", "/api/v1/calendar/2026/", None, LIST),
]


def fill(value, world):
    names = {
        "client": world["client"].pk,
        "device": world["device"].pk,
        "period": world["period"].pk,
        "ready": world["ready"].pk,
        "failed": world["failed"].pk,
        "queued": world["queued"].pk,
        "taxpayer_id": world["client"].taxpayer_id,
        "today": timezone.localdate().isoformat(),
    }
    if isinstance(value, dict):
        return {key: fill(item, world) for key, item in value.items()}
    if isinstance(value, str):
        filled = value.format(**names)
        return int(filled) if filled.isdigit() and value.startswith("{") else filled
    return value


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, body, expected", ENDPOINTS, ids=[f"{m} {p}" for m, p, _b, _e in ENDPOINTS])
def test_every_role_on_every_endpoint(users, world, role, method, path, body, expected):
    events = AuditEvent.objects.count()
    response = getattr(api_as(users, role), method)(fill(path, world), fill(body, world), format="json")
    assert response.status_code == expected[role], response.content.decode()
    if response.status_code >= 400:
        assert_no_data(response, world)
        if method != "get":
            assert AuditEvent.objects.count() == events  # nothing happened
    elif method != "get":
        assert AuditEvent.objects.count() > events  # every change is audited


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/clients/", "/api/v1/devices/", "/api/v1/periods/", "/api/v1/jobs/"])
def test_a_colleague_lists_nothing_of_anothers_client(users, world, path):
    assert not mentions_the_client(api_as(users, "colleague").get(path), world)
    assert mentions_the_client(api_as(users, "owner").get(path), world)  # so the check above can fail


@pytest.mark.django_db
def test_the_lists_are_scoped_per_role(users, world):
    theirs = world["theirs"].pk
    for role, expected in [
        ("admin", {world["client"].pk, theirs}),
        ("readonly", {world["client"].pk, theirs}),
        ("owner", {world["client"].pk}),
        ("colleague", {theirs}),
    ]:
        rows = api_as(users, role).get("/api/v1/clients/").json()["results"]
        assert {row["id"] for row in rows} == expected, role
    jobs = api_as(users, "owner").get("/api/v1/jobs/").json()["results"]
    assert {row["id"] for row in jobs} == {world["failed"].pk, world["queued"].pk}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "colleague", "readonly"])
def test_only_an_admin_changes_clients_and_devices(users, world, role):
    api = api_as(users, role)
    api.patch(f"/api/v1/clients/{world['client'].pk}/", {"name": "被改"}, format="json")
    api.patch(f"/api/v1/devices/{world['device'].pk}/", {"slot": "9-9"}, format="json")
    api.post(
        "/api/v1/devices/", {"kind": "ukey", "number": "537100494968", "client": world["theirs"].pk}, format="json"
    )
    assert Client.objects.get(pk=world["client"].pk).name == SECRET_NAME
    assert Device.objects.get(pk=world["device"].pk).slot == ""
    assert not Device.objects.filter(number="537100494968").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "owner"])
def test_file_return_records_and_audits(users, world, role):
    period, today = world["period"], timezone.localdate()
    response = api_as(users, role).post(
        f"/api/v1/periods/{period.pk}/file-return/",
        {"filed_on": today.isoformat(), "declared_sales": "12345.67", "declared_tax": "1604.94"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["return_filed_on"] == today.isoformat() and body["declared_sales"] == "12345.67"
    assert body["status"] in ("clear_due", "locked")  # filed: next comes 清卡 (or the deadline has passed)
    period.refresh_from_db()
    assert (period.return_filed_on, str(period.declared_tax)) == (today, "1604.94")
    event = AuditEvent.objects.get(action="period.return_filed")
    assert event.actor_user == users[role] and event.client == world["client"]
    assert event.before["return_filed_on"] is None and event.after["return_filed_on"] == today.isoformat()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, fields",
    [
        ({"filed_on": "2999-01-01"}, ["filed_on"]),
        ({"filed_on": "{today}", "declared_sales": "-1", "declared_tax": "-0.01"}, ["declared_sales", "declared_tax"]),
        ({"filed_on": "{today}", "declared_tax": "-0.01"}, ["declared_tax"]),
        ({"filed_on": "2000-01-03"}, ["filed_on"]),  # before the period's month has ended
        ({"filed_on": "yesterday"}, ["filed_on"]),
        ({}, ["filed_on"]),
    ],
)
def test_a_bad_filed_return_is_refused_field_by_field_and_nothing_changes(users, world, body, fields):
    response = api_as(users, "owner").post(
        f"/api/v1/periods/{world['period'].pk}/file-return/", fill(body, world), format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert sorted(errors) == fields, errors
    assert all(any("\u4e00" <= char <= "\u9fff" for char in errors[field][0]) for field in fields), errors  # in Chinese
    assert Period.objects.get(pk=world["period"].pk).return_filed_on is None
    assert not AuditEvent.objects.filter(action="period.return_filed").exists()


@pytest.mark.django_db
def test_a_colleague_cannot_ask_for_jobs_on_anothers_device(users, world):
    response = api_as(users, "colleague").post(
        "/api/v1/jobs/", {"kind": "read_status", "device": world["device"].pk}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["device"]
    assert Job.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "owner", "colleague", "readonly"])
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/agent/me/"),
        ("post", "/api/v1/agent/heartbeat/"),
        ("post", "/api/v1/agent/jobs/claim/"),
        ("post", "/api/v1/agent/jobs/results/"),
    ],
)
def test_staff_tokens_do_not_open_the_agent_api(users, world, role, method, path):
    queued = world["queued"].pk  # a claim or a result of a job the agent would be given
    body = {"jobs": [{"id": queued, "attempt": 1}], "results": [{"job": queued, "attempt": 1, "outcome": "succeeded"}]}
    response = getattr(api_as(users, role), method)(path, body, format="json")
    assert response.status_code in (401, 403)
    assert_no_data(response, world)
    assert "certificate_password" not in response.content.decode()


@pytest.mark.django_db
def test_a_return_in_a_month_without_one_is_refused_as_a_whole(users):
    quarterly = make_client(staff=users["owner"], taxpayer_kind="small_scale")
    period = make_period(quarterly, month=dt.date(2026, 8, 1))
    response = api_as(users, "owner").post(
        f"/api/v1/periods/{period.pk}/file-return/", {"filed_on": timezone.localdate().isoformat()}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["non_field_errors"]
    assert "本月无需申报" in response.json()["non_field_errors"][0]
