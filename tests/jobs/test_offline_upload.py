"""上传离线发票 before 抄报 (issue 28, docs/domain.md): a device whose reading shows offline invoices
(offline_pending) is refused 抄报 with the catalogue's OFFLINE_PENDING and its remedy; the autopilot and
a batch make the 上传离线发票 first, and the 抄报 only once it succeeded, whose reading clears the
需要处理 row. On the code before there was no such job: the 抄报 went to the device and failed (246)."""

import datetime as dt
import uuid

import pytest
import time_machine

from apps.attention.rows import Kind, rows_for
from apps.autopilot import cycle
from apps.autopilot.models import Autopilot
from apps.devices.errors import error_info
from apps.jobs import outcomes, requesting
from apps.jobs.models import Job, JobKind, JobState, Origin
from apps.jobs.rules import refusal_reason
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI
from apps.scheduling import services
from tests.factories import make_agent, make_client, make_device

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)  # due 2026-12-15; its window opens 2026-12-01 00:05
PASS_AT = dt.datetime(2026, 12, 13, 10, 30, tzinfo=SHANGHAI)  # two days before scjzrq, outside busy hours
PENDING = {"offline_pending": 2, "scjzrq": "2026-12-15", "kpjzsj": "2026-12-15", "zxbsrq": "2026-11-02"}


@pytest.fixture
def firm(users):
    Autopilot.objects.update_or_create(pk=1, defaults={"enabled": True, "per_agent_per_minute": 60})
    agent, _token = make_agent("一号机柜")
    agent.online = True
    agent.save()

    def device(name, monitoring):
        client = make_client(name=name, staff=users["owner"], taxpayer_kind="small_scale")  # no return in Nov
        return make_device(client, agent=agent, present=True, monitored_at=PASS_AT, monitoring=monitoring)

    return {
        "agent": agent,
        "offline": device("甲有离线发票", PENDING),
        "plain": device("乙无离线发票", {**PENDING, "offline_pending": 0}),
    }


def period_of(device, **fields):
    return Period.objects.get_or_create(
        client=device.client, month=NOV, defaults={"deadline": dt.date(2026, 12, 15), **fields}
    )[0]


def run_job(agent, job, monitoring, outcome="succeeded"):
    """The agent claims the job and reports its result, the reading after it included."""
    with time_machine.travel(PASS_AT, tick=False):
        Job.objects.filter(pk=job.pk).update(state=JobState.QUEUED, attempts=1)
        claimed, refused = outcomes.claim_jobs(agent, {job.pk: 1})
        assert claimed and not refused
        result = {"attempt": 1, "outcome": outcome, "already_done": False, "monitoring": monitoring}
        outcomes.accept_results(agent, {job.pk: result})
    job.refresh_from_db()
    return job


def offline_rows(users):
    with time_machine.travel(PASS_AT, tick=False):
        return [r for r in rows_for(users["owner"], PASS_AT) if r.kind == Kind.OFFLINE_INVOICES]


def refused(kind, device, period=None):
    return refusal_reason(kind, device, period, PASS_AT, hold_reason=None, has_active_job=False)


def test_the_rule_refuses_summary_while_offline_invoices_wait_and_an_upload_with_none(firm):
    offline, plain = firm["offline"], firm["plain"]
    period = period_of(offline)
    info = error_info("OFFLINE_PENDING")
    for kind in (JobKind.UPLOAD_SUMMARY, JobKind.UPLOAD_AND_CLEAR):
        reason = refused(kind, offline, period)
        assert str(info.message) in reason and "2 张" in reason and str(info.remedy) in reason
        assert "上传离线发票" in str(info.remedy)
    assert refused(JobKind.UPLOAD_SUMMARY, plain, period_of(plain)) is None
    assert refused(JobKind.UPLOAD_OFFLINE, offline) is None
    assert refused(JobKind.UPLOAD_OFFLINE, offline, period) is None  # the period's rule is the 抄报's
    assert "无需上传" in refused(JobKind.UPLOAD_OFFLINE, plain)
    with time_machine.travel(PASS_AT, tick=False), pytest.raises(requesting.Refused, match="先执行“上传离线发票”"):
        requesting.request_job(JobKind.UPLOAD_SUMMARY, offline, period=period)  # a person's 抄报 alike


def test_a_person_asks_for_it_through_the_api_with_a_device(firm, api):
    with time_machine.travel(PASS_AT, tick=False):
        missing = api.post("/api/v1/jobs/", {"kind": "upload_offline"}, format="json")
        assert missing.status_code == 400 and "指定设备" in str(missing.json())
        made = api.post("/api/v1/jobs/", {"kind": "upload_offline", "device": firm["offline"].pk}, format="json")
        assert made.status_code == 201, made.json()
        none = api.post("/api/v1/jobs/", {"kind": "upload_offline", "device": firm["plain"].pk}, format="json")
        assert none.status_code == 200 and "无需上传" in none.json()["skipped"][0]["reason"]
    assert Job.objects.get().kind == JobKind.UPLOAD_OFFLINE and Job.objects.get().period is None


def run_pass(moment=PASS_AT):
    with time_machine.travel(moment, tick=False):
        return cycle.run_pass(moment, Autopilot.current())


def test_the_autopilot_uploads_first_and_makes_the_summary_once_the_upload_succeeded(firm, users):
    offline, plain = firm["offline"], firm["plain"]
    made = run_pass()
    assert made[JobKind.UPLOAD_OFFLINE] == 1 and made[JobKind.UPLOAD_AND_CLEAR] == 1
    upload = Job.objects.get(device=offline)
    assert upload.kind == JobKind.UPLOAD_OFFLINE and upload.period == period_of(offline)
    assert Job.objects.get(device=plain).kind == JobKind.UPLOAD_AND_CLEAR
    assert [r.device for r in offline_rows(users)] == [offline]
    assert sum(run_pass(PASS_AT + dt.timedelta(minutes=1)).values()) == 0  # the upload is under way

    upload = run_job(firm["agent"], upload, {**PENDING, "offline_pending": 0})
    offline.refresh_from_db()
    assert upload.state == JobState.SUCCEEDED and offline.monitoring["offline_pending"] == 0
    assert offline_rows(users) == []  # the reading the upload brought clears 需要处理
    made = run_pass(PASS_AT + dt.timedelta(minutes=2))
    assert made[JobKind.UPLOAD_AND_CLEAR] == 1 and made[JobKind.UPLOAD_OFFLINE] == 0
    assert Job.objects.filter(device=offline).latest("pk").kind == JobKind.UPLOAD_AND_CLEAR


def test_an_upload_whose_reading_still_shows_invoices_is_not_repeated_by_the_autopilot(firm):
    run_pass()
    upload = run_job(firm["agent"], Job.objects.get(device=firm["offline"]), PENDING)  # the tool says done, yet 2
    assert upload.state == JobState.SUCCEEDED
    run_pass(PASS_AT + dt.timedelta(minutes=2))
    assert list(Job.objects.filter(device=firm["offline"]).values_list("kind", flat=True)) == [JobKind.UPLOAD_OFFLINE]


def batch_data(kind):
    return {"kind": kind, "month": NOV, "per_agent_per_minute": 60, "avoid_busy_hours": False, "token": uuid.uuid4()}


def make_batch(users, kind=JobKind.UPLOAD_SUMMARY):
    with time_machine.travel(PASS_AT, tick=False):
        return services.create_batch(batch_data(kind), {}, {}, PASS_AT, user=users["admin"])


def test_a_batch_uploads_first_and_its_summary_follows_the_upload(firm, users):
    offline, plain = firm["offline"], firm["plain"]
    with time_machine.travel(PASS_AT, tick=False):
        preview = services.preview(batch_data(JobKind.UPLOAD_SUMMARY), {}, PASS_AT)
    assert {c.device: c.uploads_first for c in preview.chosen} == {offline: True, plain: False}
    batch = make_batch(users)
    assert sorted(batch.jobs.values_list("device__client__name", "kind")) == [
        ("乙无离线发票", JobKind.UPLOAD_SUMMARY),
        ("甲有离线发票", JobKind.UPLOAD_OFFLINE),
    ]
    assert batch.left_out == [] and set(batch.jobs.values_list("origin", flat=True)) == {Origin.BATCH}

    run_job(firm["agent"], batch.jobs.get(device=offline), {**PENDING, "offline_pending": 0})
    follow = batch.jobs.filter(device=offline).latest("pk")
    assert (follow.kind, follow.period.month, follow.requested_by) == (JobKind.UPLOAD_SUMMARY, NOV, users["admin"])


def test_a_batch_upload_that_failed_or_left_invoices_makes_no_summary_and_says_why(firm, users):
    batch = make_batch(users, JobKind.UPLOAD_AND_CLEAR)
    upload = batch.jobs.get(device=firm["offline"])
    run_job(firm["agent"], upload, PENDING)  # succeeded, yet the device still holds two
    batch.refresh_from_db()
    assert list(batch.jobs.filter(device=firm["offline"]).values_list("kind", flat=True)) == [JobKind.UPLOAD_OFFLINE]
    (left,) = batch.left_out
    assert left["device"] == firm["offline"].number and "离线发票" in left["reason"]
