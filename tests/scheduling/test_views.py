"""批量清卡 pages: every role on every page and action; the preview writes nothing; the
confirmation creates the planned jobs once; progress, cancel and retry."""

import datetime as dt
import uuid
import zoneinfo

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.holds.models import Hold, HoldReason
from apps.jobs.models import Job, JobKind, JobState
from apps.periods.models import Period
from apps.scheduling.models import Batch
from apps.scheduling.selection import candidates
from tests.factories import make_agent, make_client, make_device, make_period

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
OCTOBER = dt.date(2026, 10, 1)
NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI)  # the nov10 fixture
READY = {"summary_uploaded_at": NOW - dt.timedelta(days=8), "return_filed_on": dt.date(2026, 11, 5)}
PARAMS = {"month": "2026-10", "kind": "clear", "when": "now", "per_agent_per_minute": "10"}


def online_agent(name, online=True):
    agent, _token = make_agent(name)
    agent.online = online
    agent.save()
    return agent


@pytest.fixture
def world(users, nov10):
    a, b, c = online_agent("一号前置机"), online_agent("二号前置机"), online_agent("三号前置机", online=False)
    w = {"agents": (a, b, c)}

    def client_with(name, period=READY, device=True, **device_fields):
        client = make_client(name=name, staff=users["owner"])
        if period is not None:
            make_period(client, month=OCTOBER, **period)
        if device:
            device_fields.setdefault("agent", a)
            device_fields.setdefault("present", True)
            w[name + "_device"] = make_device(client, **device_fields)
        w[name] = client
        return client

    client_with("甲就绪")
    w["甲就绪_sub"] = make_device(w["甲就绪"], agent=a, present=True, sub_number=1)
    client_with("乙就绪", agent=b)
    client_with("丙未申报", period={"summary_uploaded_at": NOW})
    client_with("丁不在位", present=False)
    client_with("戊离线", agent=c)
    client_with("己锁死", locked_reported=True)
    client_with("庚已完成", period={**READY, "cleared_at": NOW})
    client_with("辛口令锁定", monitoring={"cert_tries_left": 0})
    client_with("壬口令错误")
    failed = Job.objects.create(
        kind=JobKind.CLEAR,
        device=w["壬口令错误_device"],
        state=JobState.FAILED,
        attempts=1,
        error_code="CERT_PASSWORD_WRONG",
        finished_at=NOW - dt.timedelta(days=1),
    )
    Hold.objects.create(device=failed.device, reason=HoldReason.PASSWORD, error_code=failed.error_code, job=failed)
    client_with("癸无设备", device=False)
    client_with("子无申报期", period=None)
    other = client_with("丑他人客户", agent=b)
    other.staff = users["colleague"]
    other.save()
    return w


def reasons(found):
    return {(c.client.name, c.device.number if c.device else None): c.reason for c in found}


@pytest.mark.django_db
def test_candidates_give_every_client_its_reason(world):
    found = reasons(candidates(JobKind.CLEAR, OCTOBER, {}, NOW))
    by_client = {}
    for (client, _number), reason in found.items():
        by_client.setdefault(client, []).append(reason)
    assert by_client["甲就绪"] == [None, None]  # main and sub device
    assert by_client["乙就绪"] == [None] and by_client["丑他人客户"] == [None]
    expected = {
        "丙未申报": "未完成申报",
        "丁不在位": "不在位",
        "戊离线": "离线",
        "己锁死": "已锁死",
        "庚已完成": "已完成",
        "辛口令锁定": "证书口令已锁定",
        "壬口令错误": "口令错误",
        "癸无设备": "没有登记税控设备",
        "子无申报期": "未完成申报",
    }
    for client, words in expected.items():
        assert len(by_client[client]) == 1 and words in by_client[client][0], (client, by_client[client])


@pytest.mark.django_db
def test_candidates_filters(world, users):
    a, b, _c = world["agents"]
    names = lambda filters: {c.client.name for c in candidates(JobKind.CLEAR, OCTOBER, filters, NOW)}  # noqa: E731
    assert names({"agent": b}) == {"乙就绪", "丑他人客户"}
    assert names({"staff": users["colleague"]}) == {"丑他人客户"}
    assert names({"status": "done"}) == {"庚已完成"}
    assert names({"status": "summary_due"}) == {"子无申报期"}
    assert names({"device_kind": "ukey"}) == set()
    assert names({"taxpayer_kind": "small_scale"}) == set()
    world["乙就绪"].taxpayer_kind = "small_scale"
    world["乙就绪"].save()
    assert names({"taxpayer_kind": "small_scale"}) == {"乙就绪"}


@pytest.mark.django_db
def test_a_running_job_of_the_same_kind_leaves_the_device_out(world):
    Job.objects.create(kind=JobKind.CLEAR, device=world["乙就绪_device"], period=world["乙就绪"].periods.get())
    found = reasons(candidates(JobKind.CLEAR, OCTOBER, {}, NOW))
    assert "已有同类任务" in found[("乙就绪", world["乙就绪_device"].number)]
    assert found[("甲就绪", world["甲就绪_device"].number)] is None


# --- roles ---------------------------------------------------------------------------------


def batch_for(users, state=JobState.SCHEDULED, **job_fields):
    batch = Batch.objects.create(
        kind=JobKind.CLEAR,
        month=OCTOBER,
        start_at=timezone.now(),
        per_agent_per_minute=10,
        token=uuid.uuid4(),
        created_by=users["admin"],
    )
    agent, _token = make_agent()
    client = make_client(staff=users["owner"])
    Job.objects.create(
        kind=JobKind.CLEAR,
        device=make_device(client, agent=agent),
        period=make_period(client),
        batch=batch,
        state=state,
        **job_fields,
    )
    return batch


PAGES = [
    ("get", lambda b: "/bulk/new/"),
    ("get", lambda b: "/bulk/new/?month=2026-10&kind=clear&when=now&per_agent_per_minute=10"),
    ("get", lambda b: "/bulk/"),
    ("get", lambda b: f"/bulk/{b.pk}/"),
    ("get", lambda b: f"/bulk/{b.pk}/live/"),
    ("post", lambda b: "/bulk/confirm/"),
    ("post", lambda b: f"/bulk/{b.pk}/cancel/"),
    ("post", lambda b: f"/bulk/{b.pk}/retry/"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("method, url", PAGES)
def test_anonymous_is_sent_to_login(client, users, method, url):
    response = getattr(client, method)(url(batch_for(users)))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "colleague", "readonly"])
@pytest.mark.parametrize("method, url", PAGES)
def test_only_the_firm_admin_may_schedule_in_bulk(as_role, users, role, method, url):
    batch = batch_for(users)
    response = getattr(as_role(role), method)(
        url(batch), {**PARAMS, "token": str(uuid.uuid4())} if method == "post" else None
    )
    assert response.status_code == 403
    assert Batch.objects.count() == 1
    assert batch.jobs.get().state == JobState.SCHEDULED


@pytest.mark.django_db
@pytest.mark.parametrize("method, url", PAGES)
def test_admin_may(as_role, users, method, url):
    response = getattr(as_role("admin"), method)(
        url(batch_for(users)), {**PARAMS, "token": str(uuid.uuid4())} if method == "post" else None
    )
    assert response.status_code == (302 if method == "post" else 200)


@pytest.mark.django_db
def test_nav_links_only_for_admin(as_role, world):
    assert 'href="/bulk/new/"' in as_role("admin").get("/").content.decode()
    assert 'href="/bulk/new/"' not in as_role("owner").get("/").content.decode()


# --- choose and preview ----------------------------------------------------------------------

SIX = dt.timedelta(seconds=6)
# agent 一号: 甲's main then sub device; agent 二号: its two clients in name order, in parallel
PLANNED_NOW = {"一号": [NOW, NOW + SIX], "二号": [NOW, NOW + SIX]}


def planned_times(times_by_device, world):
    a, b, _c = world["agents"]
    assert times_by_device[world["甲就绪_device"].pk] == NOW and times_by_device[world["甲就绪_sub"].pk] == NOW + SIX
    on_b = sorted(times_by_device[world[name + "_device"].pk] for name in ("乙就绪", "丑他人客户"))
    assert len(times_by_device) == 4
    return {"一号": [times_by_device[world["甲就绪_device"].pk], times_by_device[world["甲就绪_sub"].pk]], "二号": on_b}


@pytest.mark.django_db
def test_the_form_opens_on_the_working_period(as_role, world):
    response = as_role("admin").get("/bulk/new/")
    assert response.status_code == 200
    assert response.context["form"]["month"].value() == "2026-10"
    assert response.context["form"]["kind"].value() == JobKind.CLEAR
    assert "preview" not in response.context


@pytest.mark.django_db
def test_preview_shows_whom_and_when_and_writes_nothing(as_role, world):
    periods, events = Period.objects.count(), AuditEvent.objects.count()
    response = as_role("admin").get("/bulk/new/", PARAMS)
    assert response.status_code == 200
    preview = response.context["preview"]
    assert planned_times({c.device.pk: c.run_after for c in preview.chosen}, world) == PLANNED_NOW
    assert len(preview.left_out) == 9
    page = response.content.decode()
    for words in (
        "甲就绪",
        "未完成申报",
        "设备不在位",
        "离线",
        "已锁死",
        "本期已完成",
        "证书口令已锁定",
        "上次任务口令错误",
        "没有登记税控设备",
    ):
        assert words in page
    assert 'name="token"' in page and 'action="/bulk/confirm/"' in page
    assert (Job.objects.count(), Batch.objects.count(), Period.objects.count(), AuditEvent.objects.count()) == (
        1,
        0,
        periods,
        events,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"month": "2026-12"}, "month", "不能晚于 2026-11"),
        ({"month": "2026-13"}, "month", "YYYY-MM"),
        ({"kind": "read_status"}, "kind", ""),
        ({"per_agent_per_minute": "0"}, "per_agent_per_minute", "至少为1"),
        ({"per_agent_per_minute": "61"}, "per_agent_per_minute", "不能超过60"),
        ({"when": "at"}, "start_at", "请选择开始时间"),
        ({"when": "at", "start_at": "2026-11-10T09:00"}, "start_at", "不能早于现在"),
        ({"when": "at", "start_at": "明天"}, "start_at", "有效的日期"),
    ],
)
def test_bad_choices_are_refused_field_by_field(as_role, world, change, field, words):
    response = as_role("admin").get("/bulk/new/", {**PARAMS, **change})
    assert response.status_code == 200 and "preview" not in response.context
    assert words in " ".join(response.context["form"].errors[field])


# --- confirm ------------------------------------------------------------------------------


def confirm(client, **change):
    token = change.pop("token", None) or str(uuid.uuid4())
    return client.post("/bulk/confirm/", {**PARAMS, **change, "token": token}), token


@pytest.mark.django_db
def test_confirm_creates_the_planned_jobs_once(as_role, world, users):
    admin = as_role("admin")
    response, token = confirm(admin)
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/bulk/{batch.pk}/"
    jobs = {job.device_id: job for job in batch.jobs.all()}
    assert planned_times({pk: job.run_after for pk, job in jobs.items()}, world) == PLANNED_NOW
    # due now: queued at once; later: scheduled for the sweeper
    assert jobs[world["甲就绪_device"].pk].state == JobState.QUEUED
    assert jobs[world["甲就绪_sub"].pk].state == JobState.SCHEDULED
    assert all(
        job.kind == JobKind.CLEAR and job.period.month == OCTOBER and job.requested_by == users["admin"]
        for job in jobs.values()
    )
    assert (batch.created_by, batch.kind, batch.month, batch.planned_count, batch.created_count) == (
        users["admin"],
        JobKind.CLEAR,
        OCTOBER,
        4,
        4,
    )
    assert len(batch.left_out) == 9 and {item["client"] for item in batch.left_out} >= {"丁不在位", "癸无设备"}
    event = AuditEvent.objects.get(action="batch.created")
    assert event.actor_user == users["admin"] and event.object_id == str(batch.pk) and event.after["created"] == 4

    again, _token = confirm(admin, token=token)
    assert again["Location"] == f"/bulk/{batch.pk}/"
    assert (Batch.objects.count(), Job.objects.filter(batch__isnull=False).count()) == (1, 4)
    assert AuditEvent.objects.filter(action="batch.created").count() == 1

    # a new confirmation of the same choice: every device already has its job
    confirm(admin)
    second = Batch.objects.exclude(pk=batch.pk).get()
    assert second.created_count == 0 and Job.objects.filter(batch__isnull=False).count() == 4
    assert sum("已有同类任务" in item["reason"] for item in second.left_out) == 4


@pytest.mark.django_db
def test_confirm_creates_the_period_of_a_client_without_one(as_role, world):
    confirm(as_role("admin"), kind="upload_summary")
    job = Job.objects.get(batch__isnull=False)
    assert job.device == world["子无申报期_device"] and job.period == Period.objects.get(client=world["子无申报期"])


@pytest.mark.django_db
def test_confirm_at_a_time_outside_busy_hours(as_role, world):
    confirm(as_role("admin"), when="at", start_at="2026-11-10T10:30", avoid_busy_hours="on", per_agent_per_minute="2")
    batch = Batch.objects.get()
    assert batch.avoid_busy_hours and batch.start_at == NOW + dt.timedelta(minutes=30)
    times = {job.device_id: job.run_after for job in batch.jobs.all()}
    eleven = NOW + dt.timedelta(hours=1)
    assert times[world["甲就绪_device"].pk] == eleven and times[world["甲就绪_sub"].pk] == eleven + dt.timedelta(
        seconds=30
    )
    assert set(batch.jobs.values_list("state", flat=True)) == {JobState.SCHEDULED}


@pytest.mark.django_db
def test_confirm_with_filters_records_them(as_role, world, users):
    confirm(as_role("admin"), staff=str(users["colleague"].pk))
    batch = Batch.objects.get()
    assert batch.filters == {"staff": {"value": users["colleague"].pk, "label": "会计丙"}}
    assert [job.device for job in batch.jobs.all()] == [world["丑他人客户_device"]]
    assert "负责会计：会计丙" in as_role("admin").get(f"/bulk/{batch.pk}/").content.decode()


@pytest.mark.django_db
def test_a_bad_confirmation_creates_nothing(as_role, world):
    response, _token = confirm(as_role("admin"), month="2026-12")
    assert response["Location"] == "/bulk/new/"
    assert (Batch.objects.count(), Job.objects.count()) == (0, 1)
    response = as_role("admin").post("/bulk/confirm/", PARAMS)  # no token
    assert (Batch.objects.count(), Job.objects.count()) == (0, 1)


@pytest.mark.django_db
def test_confirm_is_post_only(as_role, world):
    assert as_role("admin").get("/bulk/confirm/", PARAMS).status_code == 405


# --- progress, cancel, retry ---------------------------------------------------------------


@pytest.fixture
def batch(as_role, world):
    confirm(as_role("admin"))
    return Batch.objects.get()


def job_of(batch, device):
    return batch.jobs.get(device=device)


@pytest.mark.django_db
def test_progress_counts_and_polls_while_running(as_role, world, batch):
    admin = as_role("admin")
    running = job_of(batch, world["甲就绪_device"])
    running.move(JobState.RUNNING)
    failed = job_of(batch, world["乙就绪_device"])
    Job.objects.filter(pk=failed.pk).update(
        state=JobState.FAILED, error_code="RECONCILIATION_FAILED", finished_at=timezone.now()
    )
    response = admin.get(f"/bulk/{batch.pk}/live/")
    context = response.context
    assert (context["total"], context["finished"], context["percent"]) == (4, 1, 25)
    assert dict(context["counts"]) == {
        JobState.SCHEDULED: 1,
        JobState.QUEUED: 1,
        JobState.RUNNING: 1,
        JobState.SUCCEEDED: 0,
        JobState.FAILED: 1,
        JobState.CANCELLED: 0,
    }
    page = response.content.decode()
    assert 'hx-trigger="every 2s"' in page and "<html" not in page
    assert "票表比对不通过" in page and "核对申报表与开票数据" in page  # the failure and its remedy
    assert 'style="width: 25%"' in page
    assert dict(context["period_counts"]) == {"clear_due": 3}

    batch.jobs.exclude(state=JobState.FAILED).update(state=JobState.SUCCEEDED)
    Period.objects.filter(client=world["甲就绪"]).update(cleared_at=timezone.now())
    response = admin.get(f"/bulk/{batch.pk}/live/")
    assert response.context["percent"] == 100 and "hx-trigger" not in response.content.decode()
    assert dict(response.context["period_counts"]) == {"done": 1, "clear_due": 2}
    full = admin.get(f"/bulk/{batch.pk}/").content.decode()
    assert "<html" in full and 'id="batch-progress"' in full and "丁不在位" in full  # left out, with reasons


@pytest.mark.django_db
def test_list_of_batches(as_role, batch):
    response = as_role("admin").get("/bulk/")
    assert [b.pk for b in response.context["page"]] == [batch.pk]
    assert response.context["page"][0].total == 4


@pytest.mark.django_db
def test_cancel_what_has_not_started(as_role, world, batch, users):
    running = job_of(batch, world["甲就绪_device"])
    running.move(JobState.RUNNING)
    response = as_role("admin").post(f"/bulk/{batch.pk}/cancel/")
    assert response.status_code == 302
    states = dict(batch.jobs.values_list("device_id", "state"))
    assert states[running.device_id] == JobState.RUNNING
    assert sorted(states.values()) == sorted([JobState.RUNNING] + [JobState.CANCELLED] * 3)
    events = AuditEvent.objects.filter(action="job.cancelled")
    assert events.count() == 3 and {e.actor_user for e in events} == {users["admin"]}
    as_role("admin").post(f"/bulk/{batch.pk}/cancel/")
    assert AuditEvent.objects.filter(action="job.cancelled").count() == 3


@pytest.mark.django_db
def test_retry_what_failed_but_never_a_password(as_role, world, batch):
    transfer = job_of(batch, world["甲就绪_device"])
    password = job_of(batch, world["乙就绪_device"])
    for job, code in ((transfer, "TRANSFER_FAILED"), (password, "CERT_PASSWORD_WRONG")):
        Job.objects.filter(pk=job.pk).update(
            state=JobState.FAILED, attempts=5, error_code=code, finished_at=timezone.now()
        )
    response = as_role("admin").post(f"/bulk/{batch.pk}/retry/", follow=True)
    transfer.refresh_from_db()
    password.refresh_from_db()
    assert (transfer.state, transfer.attempts) == (JobState.QUEUED, 6)
    assert password.state == JobState.FAILED
    assert AuditEvent.objects.filter(action="job.retried").count() == 1
    assert "口令错误的任务不能重试" in response.content.decode()


@pytest.mark.django_db
def test_cancel_and_retry_are_post_only(as_role, batch):
    assert as_role("admin").get(f"/bulk/{batch.pk}/cancel/").status_code == 405
    assert as_role("admin").get(f"/bulk/{batch.pk}/retry/").status_code == 405


@pytest.mark.django_db
def test_unknown_batch_is_404(as_role, users):
    assert as_role("admin").get("/bulk/999/").status_code == 404


@pytest.mark.django_db
def test_without_a_rate_cap_every_job_is_queued_now_and_the_sql_does_not_grow(
    as_role, world, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = as_role("admin")
    confirm(admin, per_agent_per_minute="")  # warm
    Job.objects.all().delete()
    with CaptureQueriesContext(connection) as few:
        confirm(admin, per_agent_per_minute="")
    batch = Batch.objects.latest("pk")
    first = batch.created_count
    assert batch.per_agent_per_minute is None and first >= 4
    assert set(batch.jobs.values_list("state", flat=True)) == {JobState.QUEUED}
    assert len({job.run_after for job in batch.jobs.all()}) == 1
    # forty more ready clients: the same statements, not forty times more
    for n in range(40):
        client = make_client(name=f"更多就绪{n:02d}")
        make_period(client, month=OCTOBER, **READY)
        make_device(client, agent=world["agents"][0], present=True)
    Job.objects.all().delete()
    with django_assert_max_num_queries(len(few) + 2):
        confirm(admin, per_agent_per_minute="")
    assert Batch.objects.latest("pk").created_count == first + 40
