"""What the agent's calls do to jobs (docs/agent-protocol.md): claims of the jobs of all the messages
it holds, in one call, and the results waiting in its outbox, in one call; each job is judged on
its own, and a batch costs a constant number of statements plus the writes each job needs. The
server decides (LAVA): whether a failure is retried, when, and what the period and the device's
health become."""

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock
from apps.devices.errors import DEVICE_LOCKED, NEVER, OUTSIDE_WINDOW, RESULT_TOO_LARGE, RETRY, error_info
from apps.devices.models import Device, Health
from apps.devices.rules import shows_cleared, shows_summarised
from apps.devices.services import record_reading
from apps.holds.models import HoldReason
from apps.holds.services import hold
from apps.periods.models import Period
from apps.periods.rules import window_opens

from . import keepers
from .models import CLEAR_KINDS, SUMMARY_KINDS, Job, JobKind, JobState

logger = logging.getLogger(__name__)

BAD_AFTER_FAILURES = 3  # consecutive failed jobs that make a device's health bad
OUTSIDE_WINDOW_DELAY = dt.timedelta(minutes=5)  # a job refused as too early waits at least this long


class NotFound(Exception):
    """Not this agent's job (or no such job): 404."""


class NotClaimable(Exception):
    """Not queued, or another attempt: 409."""


class Unreadable(Exception):
    """A result that reads, yet not for this job (a page of another kind's result, another page count): 400."""


# Sent inside the result's transaction when a job succeeds, for the floors above that follow up on
# it (a batch asks for its own job after the 上传离线发票 it made in its place: scheduling.services).
job_succeeded = Signal()


def retry_delay(attempts: int) -> dt.timedelta:
    base = settings.QINGKA_RETRY_BASE_SECONDS
    return dt.timedelta(seconds=min(600, base * 2 ** (attempts - 1)))


@transaction.atomic
def claim_jobs(agent, attempts: dict[int, int]) -> tuple[list[Job], dict[int, Exception]]:
    """Claims each job of `attempts` (job id → attempt) that is a queued job of this agent's device
    at that attempt, giving it a lease; returns those jobs and, for each other one, why not
    (NotFound or NotClaimable). The rows are locked while they are judged, so one statement can
    move them all."""
    jobs = _locked_jobs(agent, attempts, CLAIM_READS)
    claimed: list[Job] = []
    refused: dict[int, Exception] = {}
    for job_id, attempt in attempts.items():
        job = jobs.get(job_id)
        if job is None:
            refused[job_id] = NotFound(job_id)
        elif job.state != JobState.QUEUED or job.attempts != attempt:
            refused[job_id] = NotClaimable(
                f"job {job_id} is {job.state} at attempt {job.attempts}, not queued at {attempt}"
            )
        else:
            claimed.append(job)
    now = clock.now()
    lease = now + dt.timedelta(seconds=settings.QINGKA_JOB_LEASE_SECONDS)
    Job.objects.filter(pk__in=[job.pk for job in claimed]).move(
        JobState.QUEUED, JobState.RUNNING, started_at=now, lease_expires_at=lease
    )
    for job in claimed:
        job.state, job.started_at, job.lease_expires_at = JobState.RUNNING, now, lease
    log.record_many(
        [_agent_event(Action.JOB_STARTED, job, agent, job.device, after={"attempt": job.attempts}) for job in claimed]
    )
    return claimed, refused


def accept_results(agent, results: dict[int, dict]) -> dict[int, Job | Exception]:
    """Applies each result of `results` (job id → result) and returns, per job, the job or why it
    was refused (NotFound, NotClaimable). Idempotent on (job, attempt): a second copy changes
    nothing. All in one transaction; should one result make it fail, each is applied in its own,
    so that one result the site cannot apply does not hold up the others (it gets its exception)."""
    try:
        with transaction.atomic():
            return _accept_results(agent, results)
    except Exception:
        if len(results) == 1:
            raise
        logger.exception("agent %s: a batch of %s results failed; applying them one by one", agent.pk, len(results))
    outcome: dict[int, Job | Exception] = {}
    for job_id, result in results.items():
        try:
            with transaction.atomic():
                outcome |= _accept_results(agent, {job_id: result})
        except Exception as error:
            logger.exception("agent %s: the result for job %s failed", agent.pk, job_id)
            outcome[job_id] = error
    return outcome


def _accept_results(agent, results: dict[int, dict]) -> dict[int, Job | Exception]:
    jobs = _locked_jobs(agent, results, lock_periods=True)
    outcome: dict[int, Job | Exception] = {}
    audits: list = []
    for job_id, result in results.items():
        job = jobs.get(job_id)
        if job is None:
            outcome[job_id] = NotFound(job_id)
            continue
        attempt = result.get("attempt")
        if not isinstance(attempt, int) or not 1 <= attempt <= job.attempts:
            outcome[job_id] = NotClaimable(f"job {job_id} is at attempt {job.attempts}; there was no attempt {attempt}")
            continue
        outcome[job_id] = job
        # Late: the lease ran out (the agent or the site was away) and the job went back to the
        # queue with one more attempt. While no one has claimed the new attempt, the work this result
        # reports is the job's; only for the attempt just before, though, and only if its result was
        # not applied already (the job then failed it and retried): a replayed copy changes nothing.
        late = attempt == job.attempts - 1 and job.state == JobState.QUEUED and not _reported(job.result, attempt)
        if late or (attempt == job.attempts and job.state == JobState.RUNNING):
            counted = None
            if "page" in result:
                try:
                    counted = _take_page(job, result)
                except Unreadable as error:
                    outcome[job_id] = error
                    continue
                if counted is None:  # pages still to come: the job runs on
                    continue
            _apply_result(job, agent, result, late, audits, counted)
        elif _reported(job.result, attempt):
            pass  # this attempt's result was applied before: a second copy changes nothing
        elif attempt < job.attempts or job.state in (JobState.QUEUED, JobState.CANCELLED):
            keep_as_evidence(job, agent, result)
    log.record_many(audits)
    return outcome


def _take_page(job: Job, result: dict) -> tuple[int, int] | None:
    """Keeps the invoices of one page of a paged 发票查询 result and notes the page on the job;
    once every page of the attempt is in, returns what all of them kept and could not read
    (docs/agent-protocol.md). A page taken before changes nothing."""
    attempt, page, pages = result["attempt"], result["page"], result["pages"]
    if job.kind != JobKind.QUERY_INVOICES:
        raise Unreadable(f"job {job.pk} is a {job.kind}: only a 发票查询 result comes in pages")
    taken = job.result_pages if job.result_pages.get("attempt") == attempt else {}
    if taken.get("pages", pages) != pages:
        raise Unreadable(f"job {job.pk} attempt {attempt} comes in {taken['pages']} pages, not {pages}")
    received = dict(taken.get("received", {}))
    if str(page) not in received:
        received[str(page)] = keepers.keep(job, result.get("invoices") or [], clock.now())
        job.result_pages = {"attempt": attempt, "pages": pages, "received": received}
        Job.objects.filter(pk=job.pk).update(result_pages=job.result_pages)
    if len(received) < pages:
        return None
    return sum(kept for kept, _ in received.values()), sum(rejected for _, rejected in received.values())


def fail_too_large(agent, refused: dict[int, tuple[int, int]], limit: int) -> None:
    """Results the site refused for carrying more than `limit` invoices (job id → (attempt, how
    many)): each fails its attempt for good with RESULT_TOO_LARGE, instead of the job running until
    its lease ends while the agent sends the result again and again."""
    with transaction.atomic():
        jobs = _locked_jobs(agent, refused)
        audits: list = []
        for job_id, (attempt, count) in refused.items():
            job = jobs.get(job_id)
            if job is None or job.state != JobState.RUNNING or job.attempts != attempt:
                continue
            message = _("前置机回报了 %(n)d 张发票，网站每个结果（或每页）最多接收 %(limit)d 张") % {
                "n": count,
                "limit": limit,
            }
            audit = partial(_audit_into, audits, agent, job.device)
            fail(job, RESULT_TOO_LARGE, now=clock.now(), message=message, audit=audit)
        log.record_many(audits)


def _audit_into(audits: list, agent, device: Device, action: Action, obj, **details) -> None:
    audits.append(_agent_event(action, obj, agent, device, **details))


def _reported(stored: dict | None, attempt: int) -> bool:
    """The job's stored result is the agent's own for `attempt` (applied before). One the site
    wrote when it gave the last attempt up (fail() on an expired lease) carries no finished_at."""
    return stored is not None and stored.get("attempt") == attempt and "finished_at" in stored


# What a claim reads of its jobs: what it checks and what the agent is told (agent_api/jobs.described),
# not every column of the job, device and period (docs/scaling.md, "What a claim reads").
CLAIM_READS = (
    *("kind", "state", "attempts", "query", "lease_expires_at", "started_at", "device", "period", "period__month"),
    *("device__number", "device__kind", "device__slot", "device__sub_number", "device__simulated"),
    *("device__certificate_password", "device__device_password", "device__client"),
)


def _agent_event(action: Action, obj, agent, device: Device, **details):
    """An audit event the agent's call made about `obj` (the job, its device or its period), under
    the device's client: its id is given, so the client itself is never loaded."""
    return log.build(
        action,
        obj,
        agent=agent,
        client_id=device.client_id,
        source=agent.hostname,
        simulated=device.simulated,
        **details,
    )


def _locked_jobs(agent, ids, only: tuple[str, ...] = (), lock_periods: bool = False) -> dict[int, Job]:
    """This agent's jobs among `ids`, by id, locked in id order (two batches never wait on each
    other the wrong way round), with their device and period (`only` those fields, if given). Their
    devices' agent is `agent` itself: set, not joined and read again for every job. The client is
    not joined either: its id is all a claim and a result need. With `lock_periods` the periods are
    locked too (_lock_periods), and read only then."""
    locked = (
        Job.objects.select_for_update(of=("self",))
        .select_related("device", *(() if lock_periods else ("period",)))
        .filter(pk__in=ids, device__agent=agent)
        .order_by("pk")
    )
    jobs = {job.pk: job for job in (locked.only(*only) if only else locked)}
    for job in jobs.values():
        job.device.agent = agent
    if lock_periods:
        _lock_periods(jobs.values())
    return jobs


def _lock_periods(jobs) -> None:
    """The periods of `jobs`, locked in id order and read again. A client's main and sub devices
    may sit on two agents whose results come at once: each result then judges the period after
    the other committed, seeing its reading, instead of both missing the other's and leaving the
    period undone for good (the autopilot repeats no job that succeeded)."""
    ids = sorted({job.period_id for job in jobs if job.period_id})
    periods = Period.objects.select_for_update().filter(pk__in=ids).order_by("pk").in_bulk() if ids else {}
    for job in jobs:
        if job.period_id:
            job.period = periods[job.period_id]


def _apply_result(
    job: Job, agent, result: dict, late: bool, audits: list, counted: tuple[int, int] | None = None
) -> None:
    """One attempt's result moves its job, the device's reading and health, and the period; the
    audit events it makes are added to `audits`, written with the batch's. `counted`: what the
    pages of a paged result kept and could not read (_take_page), their invoices already kept."""
    now = clock.now()
    device = job.device
    attempt = result["attempt"]
    audit = partial(_audit_into, audits, agent, device)

    # A late result takes the job back to the attempt that did the work; the message sent for the
    # newer attempt then finds the job no longer queued, and is refused at its claim.
    back = {"attempts": attempt} if late else {}
    if result.get("monitoring") is not None:
        record_reading(device, result["monitoring"], now)
    if result.get("error_code") == DEVICE_LOCKED and not device.locked_reported:
        device.locked_reported = True
        device.save(update_fields=["locked_reported"])
        audit(Action.DEVICE_LOCKED, device, after={"locked_reported": True, "raw_code": result.get("raw_code") or ""})
    stored = {
        k: result.get(k)
        for k in (
            "attempt",
            "outcome",
            "already_done",
            "error_code",
            "raw_code",
            "message",
            "started_at",
            "finished_at",
        )
    }
    if result.get("outcome") == "succeeded":
        if job.kind == JobKind.QUERY_INVOICES:  # the answer is the invoices: kept, counted on the job
            if counted is None:
                counted = keepers.keep(job, result.get("invoices") or [], now)
            else:
                stored["pages"] = result["pages"]
            stored["invoices"], stored["invoices_rejected"] = counted
        job.move(
            JobState.SUCCEEDED,
            **back,
            finished_at=now,
            lease_expires_at=None,
            already_done=bool(result.get("already_done")),
            error_code="",
            raw_code=result.get("raw_code") or "",
            error_message="",
            result=stored,
        )
        audit(Action.JOB_SUCCEEDED, job, after=stored)
        job_succeeded.send(Job, job=job)
    else:
        fail(
            job,
            result.get("error_code") or "DRIVER_ERROR",
            now=now,
            attempt=attempt,
            message=result.get("message") or "",
            raw_code=result.get("raw_code") or "",
            stored=stored,
            audit=audit,
            **back,
        )
    if job.period_id:
        _update_period(job, audit)


def fail(
    job: Job,
    code: str,
    *,
    now: dt.datetime,
    attempt: int | None = None,
    message="",
    raw_code="",
    stored=None,
    audit=None,
    **changes,
) -> None:
    """A failed attempt, from an agent's result or an expired lease: retried later when its error
    is transient and attempts are left, else failed for good, with the device's health judged and
    the device held when the failure was a password or a lock. The caller holds the transaction."""
    attempt = attempt or job.attempts
    audit = audit or partial(log.record, simulated=job.device.simulated)
    info = error_info(code)
    stored = stored if stored is not None else {"attempt": attempt, "outcome": "failed", "error_code": code}
    failure = {
        "lease_expires_at": None,
        "error_code": code,
        "raw_code": raw_code,
        "error_message": message or str(info.message),
        "result": stored,
        **changes,
    }
    run_after = None
    if code == OUTSIDE_WINDOW and job.period is not None and attempt < job.max_attempts:
        # refused as too early (the device's clock or rule ahead of the site's): tried again when the
        # window opens by the site's clock, and not sooner than a few minutes (docs/domain.md, checks)
        run_after = max(window_opens(job.period.month), now + OUTSIDE_WINDOW_DELAY)
    elif info.retry == RETRY and attempt < job.max_attempts:
        run_after = now + retry_delay(attempt)
    if run_after is not None:
        job.move(JobState.SCHEDULED, run_after=run_after, **failure)
        audit(Action.JOB_RETRY_SCHEDULED, job, after={**stored, "run_after": job.run_after})
        return
    job.move(JobState.FAILED, finished_at=now, **failure)
    audit(Action.JOB_FAILED, job, after={**stored, "remedy": str(info.remedy)})
    _judge_device_health(job.device, audit)
    if info.password:
        hold(job.device, HoldReason.PASSWORD, error_code=code, message=failure["error_message"], job=job)
        return
    # a locked device's one try online (逾期抄报, 清卡) refused by the device or the bureau: the hall
    # is the remedy, with the bureau's reason as the hold's message (docs/domain.md, unlocking)
    unlock_refused = info.retry == NEVER and _unlock_try(job, now)
    if unlock_refused or code == DEVICE_LOCKED:
        reason = HoldReason.HALL if unlock_refused else HoldReason.LOCKED
        message, lock_date = failure["error_message"], job.device.lock_date
        hold(job.device, reason, error_code=code, message=message, job=job, lock_date=lock_date)


def _unlock_try(job: Job, now: dt.datetime) -> bool:
    """A 抄报 or 清卡 after the period's deadline on a device that says it is locked, for a client that
    unlocks online: the one try to unlock it (jobs/rules.period_reason let it through)."""
    today = timezone.localdate(now)
    return (
        job.kind in (*SUMMARY_KINDS, *CLEAR_KINDS)
        and job.period is not None
        and today > job.period.deadline
        and bool(job.device.lock_state(today))
        and job.device.client.unlocks_online()
    )


def keep_as_evidence(job: Job, agent, result: dict) -> None:
    """A result too late to count (a newer attempt was claimed, or the job was cancelled) is kept on
    the job and audited, not dropped: it says what a device did."""
    kept = {**{k: result.get(k) for k in ("attempt", "outcome", "already_done", "error_code", "raw_code")}}
    kept["received_at"] = clock.now().isoformat()
    if any(entry.get("attempt") == kept["attempt"] for entry in job.late_results):
        return
    job.late_results = [*job.late_results, kept]
    Job.objects.filter(pk=job.pk).update(late_results=job.late_results)
    _agent_event(Action.JOB_LATE_RESULT_KEPT, job, agent, job.device, after=kept).save()


def _judge_device_health(device: Device, audit) -> None:
    """Repeated failures make a good device bad; a person sets it good again."""
    last = list(
        Job.objects.filter(device=device, state__in=(JobState.SUCCEEDED, JobState.FAILED))
        .order_by("-finished_at")
        .values_list("state", flat=True)[:BAD_AFTER_FAILURES]
    )
    if device.health == Health.GOOD and last == [JobState.FAILED] * BAD_AFTER_FAILURES:
        Device.objects.filter(pk=device.pk, health=Health.GOOD).update(health=Health.BAD)
        audit(Action.DEVICE_HEALTH_BAD, device, before={"health": Health.GOOD}, after={"health": Health.BAD})


def _update_period(job: Job, audit) -> None:
    """The period follows its devices: summarised or cleared when every device of the client in
    service is (main and sub devices alike; a retired one is not waited for). Whether it is locked
    is the devices' own word (Device.lock_state)."""
    period = job.period
    assert period is not None, "called for jobs with a period only"
    devices = list(Device.objects.filter(client_id=job.device.client_id).in_service(period.month))
    succeeded = job.state == JobState.SUCCEEDED
    summary = (job.device.monitoring or {}).get("summary")
    if succeeded and job.kind in SUMMARY_KINDS and summary and not job.already_done:
        # What this device's 抄报 uploaded, kept with the period for 票表比对 before the clear.
        period.invoice_summary = {**(period.invoice_summary or {}), job.device.number: summary}
        period.save(update_fields=["invoice_summary", "updated_at"])

    def done(device, kinds, shows, field):
        if device.pk == job.device_id and succeeded and job.kind in kinds:
            return True
        return shows(period.month, device.monitoring_date(field))

    changes = {}
    if not devices:  # the job's device was retired under it: nothing left to speak for the period
        return
    if period.summary_uploaded_at is None and all(
        done(d, SUMMARY_KINDS + CLEAR_KINDS, shows_summarised, "zxbsrq") for d in devices
    ):
        changes["summary_uploaded_at"] = clock.now()
    if period.cleared_at is None and all(done(d, CLEAR_KINDS, shows_cleared, "kpjzsj") for d in devices):
        changes["cleared_at"] = clock.now()
    if not changes:
        return
    before = {name: getattr(period, name) for name in changes}
    for name, value in changes.items():
        setattr(period, name, value)
    period.save(update_fields=[*changes, "updated_at"])
    actions = {"summary_uploaded_at": Action.PERIOD_SUMMARY_UPLOADED, "cleared_at": Action.PERIOD_CLEARED}
    for name in changes:
        audit(actions[name], period, before={name: before[name]}, after={name: changes[name]})
