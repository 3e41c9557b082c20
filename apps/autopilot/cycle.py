"""The standing cycle (自动清卡): what a USB cabinet's firmware does for its ports every 15
minutes, done for the whole firm from what the site knows besides, the returns recorded, the
deadlines and the holds.

Each pass decides, for every device of every client in the cycle: 抄报 once the period's window
has opened (抄报并清卡 when no return stands in the way), 清卡 as soon as the period is ready,
and 读取状态 once a day during the 征期. It asks the same rule as a person's request
(jobs/rules.refusal_reason), never gives a device a second job while one is under way, does not
try again what failed and needs a person, keeps to the firm's rate and busy hours, and stays away
from a device in the last hour before it locks. A pass is claimed with a conditional update, so
two sweeps at once, or twice in a minute, make one pass and no duplicate job.

Every pass records, in counts, what it made and why each client or device got nothing
(models.PassRecord), in the transaction that makes its jobs.
"""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

from apps.accounts.models import FirmSettings
from apps.clients.models import Client
from apps.core.months import add_months
from apps.devices.models import Device, Health, in_service, share_agents
from apps.filing_calendar.models import period_deadline
from apps.holds.models import Hold, active_hold_reason, hold_reason_of
from apps.jobs.labels import kind_label
from apps.jobs.models import ACTIVE_STATES, CLEAR_KINDS, SUMMARY_KINDS, Job, JobKind, JobState, Origin
from apps.jobs.planning import plan
from apps.jobs.requesting import Wanted, create_jobs
from apps.jobs.rules import first_kind, period_reason, refusal_reason
from apps.periods.models import Period, in_filing_season, working_month
from apps.periods.rules import READY_TO_CLEAR, SHANGHAI, PeriodStatus, last_open_month, window_opens

from .models import Autopilot, Deferral, Exclusion, PassRecord, Skip

LAST_HOUR = dt.timedelta(hours=1)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Facts:
    """What the cycle knows of one device besides the device row itself."""

    hold_reason: str | None
    busy: bool  # a job of any kind is under way on it
    failed_needs_person: bool  # the cycle's last try of this kind for this period failed for good
    succeeded: frozenset[str] = frozenset()  # kinds of this device's jobs for the period that succeeded
    read_today: bool = False  # a 读取状态 was made for it today, whatever its reading brought


def already_done(kind: str, succeeded: frozenset[str]) -> bool:
    """What a `kind` job would do on the device for the period is done by a job that succeeded
    (as jobs/outcomes._update_period reads a success): a second one would only call the bureau again."""
    if kind == JobKind.UPLOAD_SUMMARY:
        return bool(succeeded & {*SUMMARY_KINDS, *CLEAR_KINDS})
    if kind in CLEAR_KINDS:
        return bool(succeeded & set(CLEAR_KINDS))
    return kind == JobKind.UPLOAD_OFFLINE and kind in succeeded  # the device's reading did not follow it


def claim_pass(now: dt.datetime) -> Autopilot | None:
    """The settings when a pass is due now and this caller won it, else None."""
    autopilot = Autopilot.current()
    interval = dt.timedelta(seconds=settings.QINGKA_AUTOPILOT_SECONDS)
    claimed = (
        Autopilot.objects.filter(pk=autopilot.pk, enabled=True)
        .filter(Q(last_pass_at__isnull=True) | Q(last_pass_at__lte=now - interval))
        .update(last_pass_at=now)
    )
    return Autopilot.current() if claimed else None


def summary_kind(period: Period, device_count: int) -> str:
    """抄报 alone while a return is still to come, while the client has sub-devices (a device
    clears only once every device of its taxpayer is summarised), or while declared figures wait
    to be compared with what the 抄报 uploads (票表比对); 抄报并清卡 when nothing stands between them."""
    declared = period.declared_sales is not None or period.declared_tax is not None
    if device_count == 1 and not declared and (not period.return_required or period.return_filed_on is not None):
        return JobKind.UPLOAD_AND_CLEAR
    return JobKind.UPLOAD_SUMMARY


@dataclass(frozen=True)
class Work:
    """What a client's period calls for now, worked out once per period rather than per device:
    the job its status calls for, and the period's half of rules.refusal_reason for that job."""

    period: Period
    kind: str | None
    refused: str | None
    status: PeriodStatus


@dataclass(frozen=True)
class Skipped:
    """Why a device got no job, and the job that was due on it when one was (else None)."""

    reason: Skip
    due: str | None = None


@dataclass
class Outcome:
    """A pass's counts: jobs made by kind, made but starting later, and what got nothing, why."""

    made: Counter = field(default_factory=Counter)
    deferred: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    waiting: Counter = field(default_factory=Counter)  # job kind → devices it was due on that got none

    def skip(self, skipped: Skipped, count: int = 1) -> None:
        if count:
            self.skipped[str(skipped.reason)] += count
        if count and skipped.due:
            self.waiting[skipped.due] += count


def work_for(period: Period, now: dt.datetime, tolerance: Decimal, unlock_policy: str | None = None) -> Work:
    status = period.status(now)
    basis = status
    if (
        status == PeriodStatus.LOCKED
        and timezone.localdate(now) > period.deadline
        and period.client.unlocks_online(unlock_policy)
        and not period.lock_is_estimate(now)
    ):
        basis = period.unlocked_status(now)  # the one try online: 逾期抄报, then 清卡
    kind = period_kind(basis, period)
    refused = period_reason(kind, period, now, tolerance, status, unlock_policy) if kind else None
    return Work(period, kind, refused, status)


def period_kind(status: PeriodStatus, period: Period) -> str | None:
    """The job the period calls for on its client's devices (prefetched on period.client)."""
    if status == PeriodStatus.SUMMARY_DUE:
        return summary_kind(
            period, sum(1 for device in period.client.devices.all() if in_service(device, period.month))
        )
    if status in READY_TO_CLEAR:
        return JobKind.CLEAR
    return None


def near_lock(device: Device, now: dt.datetime) -> bool:
    """In the last hour before the device's 开票截止日期 runs out (the end of that day)."""
    if device.lock_date is None:
        return False
    locks_at = dt.datetime.combine(device.lock_date + dt.timedelta(days=1), dt.time(), SHANGHAI)
    return locks_at - LAST_HOUR <= now < locks_at


IDLE = {  # a period calling for no device job now, by its status
    PeriodStatus.NOT_OPEN: Skip.NOT_OPEN,
    PeriodStatus.RETURN_DUE: Skip.RETURN,
    PeriodStatus.RETURN_OVERDUE: Skip.RETURN,
    PeriodStatus.LOCKED: Skip.LOCKED,
}


def decide(
    device: Device, work: Work | None, facts: Facts, now: dt.datetime, autopilot: Autopilot, season: bool
) -> Wanted | Skipped:
    """The one job this device should get now, or why it gets none."""
    if not in_service(device, work.period.month if work is not None else None):
        return Skipped(Skip.DEVICE)
    due = _due(device, work, facts, now, season)
    if isinstance(due, Skipped):
        return due
    if facts.busy:
        return Skipped(Skip.BUSY)
    if not autopilot.work_in_last_hour and near_lock(device, now):
        return Skipped(Skip.LAST_HOUR, due.kind)
    # The period's half of rules.refusal_reason was asked once in work_for; here, the device's.
    month = due.period.month if due.period is not None else None
    if refusal_reason(due.kind, device, None, now, hold_reason=facts.hold_reason, has_active_job=False, month=month):
        return Skipped(device_skip(device, facts.hold_reason), due.kind)
    return due


def _due(device: Device, work: Work | None, facts: Facts, now: dt.datetime, season: bool) -> Wanted | Skipped:
    """The job the period, else the daily read, calls for on the device, whatever the device's own
    state; or why there is none."""
    if work is None:
        skipped = Skipped(Skip.NOT_OPEN)  # no period of the device's client is open yet
    elif work.kind is None:
        skipped = Skipped(IDLE.get(work.status, Skip.DONE))
    elif facts.failed_needs_person:
        skipped = Skipped(Skip.FAILED, work.kind)  # the daily read may still be due
    elif already_done(kind := first_kind(work.kind, device), facts.succeeded):
        # Whatever the cause (a device the period does not see, a stuck status), the cycle never
        # repeats a success; it says so, and a person looks.
        logger.warning(
            "autopilot: %s for period %s on device %s already succeeded; no second job",
            kind,
            work.period.pk,
            device.pk,
        )
        return Skipped(Skip.REPEAT, kind)
    elif work.refused:
        return Skipped(Skip.LOCKED if work.status == PeriodStatus.LOCKED else Skip.RECONCILE)
    else:
        return Wanted(kind, device, work.period)  # 上传离线发票 first, the 抄报 at a pass after it succeeded
    stale = not facts.read_today and (
        device.monitored_at is None or timezone.localdate(device.monitored_at) < timezone.localdate(now)
    )
    return Wanted(JobKind.READ_STATUS, device) if season and stale else skipped


def device_skip(device: Device, hold_reason: str | None) -> Skip:
    """The count a device refused by rules.device_reason (or a zombie) goes to."""
    agent = device.agent
    if hold_reason:
        return Skip.HELD
    if agent is None or not agent.enabled or agent.health != Health.GOOD or not agent.online:
        return Skip.AGENT
    if not device.present:
        return Skip.ABSENT
    return Skip.DEVICE


def run_pass(now: dt.datetime, autopilot: Autopilot) -> dict[str, int]:
    """One pass over the firm: decides and makes what is due. Queries do not grow with clients."""
    today = timezone.localdate(now)
    working = working_month(today)
    months = [m for m in (add_months(working, -1), working) if now >= window_opens(m)]
    in_cycle = Client.objects.filter(active=True).exclude(Exists(Exclusion.objects.filter(client=OuterRef("pk"))))
    if working in months:
        Period.objects.create_blank(in_cycle, working, period_deadline(working).date)
    clients = list(
        in_cycle.prefetch_related(
            "invoicing_modes",
            Prefetch(
                "devices",
                Device.objects.in_service(months[0] if months else None)  # and those serving a straggler
                .defer(*Device.SECRET_FIELDS)  # never decrypted for deciding
                .annotate(hold_reason=active_hold_reason())
                .order_by("sub_number"),
            ),
        )
    )
    share_agents([device for client in clients for device in client.devices.all()])
    periods = _periods(clients, months)
    firm = FirmSettings.current()
    tolerance, unlock_policy = firm.reconciliation_tolerance, firm.unlock_policy
    busy = set(Job.objects.filter(state__in=ACTIVE_STATES).values_list("device_id", flat=True))
    failed = _failed_needing_a_person(months)
    succeeded = _succeeded(months)
    season = in_filing_season(today, working)
    read_today = _read_on(today)
    outcome = Outcome()
    outcome.skip(Skipped(Skip.EXCLUDED), Exclusion.objects.filter(client__active=True).count())
    wanted = []
    for client in clients:
        work = _work(client, months, periods, now, tolerance, unlock_policy)
        if work is not None and work.period.digital:
            # a 数电 month: the return only, nothing for the devices (not even the daily read)
            outcome.skip(Skipped(Skip.DIGITAL))
            continue
        if not client.devices.all():
            outcome.skip(Skipped(Skip.NO_DEVICE))
        for device in client.devices.all():
            facts = Facts(
                hold_reason=hold_reason_of(device),  # the annotation the prefetch made
                busy=device.pk in busy,
                failed_needs_person=work is not None and (device.pk, work.period.pk) in failed,
                succeeded=succeeded.get((device.pk, work.period.pk), frozenset()) if work else frozenset(),
                read_today=device.pk in read_today,
            )
            choice = decide(device, work, facts, now, autopilot, season)
            if isinstance(choice, Skipped):
                outcome.skip(choice)
            else:
                wanted.append(choice)
    return _make(wanted, now, autopilot, outcome)


def _periods(clients: list[Client], months: list[dt.date]) -> dict[tuple[int, dt.date], Period]:
    """Each client's period rows of `months`. The working period's rows exist (run_pass made them
    once its window opened); an older month is worked only where a row says what is left of it."""
    by_client = {client.pk: client for client in clients}
    found = {}
    for period in Period.objects.filter(month__in=months, client__in=list(by_client)):
        period.client = by_client[period.client_id]
        found[(period.client_id, period.month)] = period
    return found


def _work(client, months, periods, now, tolerance, unlock_policy=None) -> Work | None:
    """The oldest open period with work the cycle can do (a straggler first), else the newest."""
    found = [
        work_for(periods[(client.pk, m)], now, tolerance, unlock_policy) for m in months if (client.pk, m) in periods
    ]
    for work in found:
        if work.kind:
            return work
    return found[-1] if found else None


def _failed_needing_a_person(months: list[dt.date]) -> set[tuple[int, int]]:
    """(device, period) whose last job failed for good with nothing changed since: the period
    not touched (a return recorded) and no hold released after it."""
    released_since = Hold.objects.filter(device=OuterRef("device"), released_at__gt=OuterRef("finished_at"))
    latest = Job.objects.filter(device=OuterRef("device"), period=OuterRef("period")).order_by("-created_at", "-pk")
    return set(
        Job.objects.filter(period__month__in=months, state=JobState.FAILED, finished_at__gte=F("period__updated_at"))
        .filter(pk=latest.values("pk")[:1])
        .exclude(Exists(released_since))
        .values_list("device_id", "period_id")
    )


def _read_on(day: dt.date) -> set[int]:
    """Devices given a 读取状态 on `day`: a reading with nothing new leaves monitored_at as it was
    (devices/services.record_readings), so monitored_at alone asked for the day's read on every pass."""
    since = dt.datetime.combine(day, dt.time(), SHANGHAI)
    return set(Job.objects.filter(kind=JobKind.READ_STATUS, created_at__gte=since).values_list("device_id", flat=True))


def _succeeded(months: list[dt.date]) -> dict[tuple[int, int], frozenset[str]]:
    """(device, period) → the kinds of the 抄报/清卡 (and 上传离线发票) jobs that succeeded on it for `months`."""
    found: dict[tuple[int, int], set[str]] = {}
    rows = Job.objects.filter(
        period__month__in=months,
        state=JobState.SUCCEEDED,
        kind__in={*SUMMARY_KINDS, *CLEAR_KINDS, JobKind.UPLOAD_OFFLINE},
    ).values_list("device_id", "period_id", "kind")
    for device_id, period_id, kind in rows:
        found.setdefault((device_id, period_id), set()).add(kind)
    return {key: frozenset(kinds) for key, kinds in found.items()}


def _make(wanted: list[Wanted], now: dt.datetime, autopilot: Autopilot, outcome: Outcome) -> dict[str, int]:
    """Spreads the new jobs per agent after the jobs each already has, makes them and records the
    pass, in one transaction."""
    agent_starts = dict(
        Job.objects.filter(state=JobState.SCHEDULED, device__agent__isnull=False)
        .values_list("device__agent")
        .annotate(last=Max("run_after"))
        .values_list("device__agent", "last")
    )
    step = dt.timedelta(seconds=60 / autopilot.per_agent_per_minute)

    def planned(avoid_busy_hours: bool) -> list[dt.datetime]:
        return [
            moment
            for _device, moment in plan(
                [w.device for w in wanted],
                now,
                per_agent_per_minute=autopilot.per_agent_per_minute,
                avoid_busy_hours=avoid_busy_hours,
                agent_starts={agent: last + step for agent, last in agent_starts.items()},
            )
        ]

    next_pass = now + dt.timedelta(seconds=settings.QINGKA_AUTOPILOT_SECONDS)
    # What the busy hours moved is compared with the plan that ignores them (the same plan when
    # they are not avoided).
    times = planned(autopilot.avoid_busy_hours)
    plain_times = planned(False) if autopilot.avoid_busy_hours else times
    for w, moment, plain in zip(wanted, times, plain_times, strict=True):
        w.run_after = moment
        if moment > plain:
            outcome.deferred[str(Deferral.PEAK)] += 1
        elif moment >= next_pass:
            outcome.deferred[str(Deferral.RATE)] += 1
    outcome.made.update(w.kind for w in wanted)
    with transaction.atomic():
        create_jobs(wanted, origin=Origin.AUTOPILOT)
        record(outcome, now)
    return {kind: outcome.made.get(kind, 0) for kind in JobKind.values}


def record(outcome: Outcome, now: dt.datetime) -> None:
    """Writes the pass down: onto the latest record when both made nothing with the same counts
    (an idle hour is one record, not sixty), else as a new one, the oldest beyond KEPT removed."""
    counts = {name: dict(getattr(outcome, name)) for name in ("made", "deferred", "skipped", "waiting")}
    latest = PassRecord.objects.first()
    if latest is not None and not outcome.made and {name: getattr(latest, name) for name in counts} == counts:
        PassRecord.objects.filter(pk=latest.pk).update(last_at=now, passes=F("passes") + 1)
        return
    PassRecord.objects.create(started_at=now, last_at=now, **counts)
    oldest_kept = PassRecord.objects.values("pk")[PassRecord.KEPT - 1 : PassRecord.KEPT]
    PassRecord.objects.filter(pk__lt=Subquery(oldest_kept)).delete()


@dataclass(frozen=True)
class Outlook:
    """What the 自动清卡 page says comes next."""

    next_pass_at: dt.datetime | None  # None while switched off
    scheduled: list[tuple[str, int, dt.datetime]]  # (kind's label, jobs, first start) of its jobs not started
    waiting: dict[str, int]  # job kind → devices the latest pass found work due on and could not give
    window: tuple[dt.date, dt.datetime]  # the next period whose 抄报 window opens, and when


def outlook(now: dt.datetime, autopilot: Autopilot, latest: PassRecord | None) -> Outlook:
    interval = dt.timedelta(seconds=settings.QINGKA_AUTOPILOT_SECONDS)
    next_pass_at = None
    if autopilot.enabled:
        next_pass_at = max(now, autopilot.last_pass_at + interval) if autopilot.last_pass_at else now
    scheduled = (
        Job.objects.filter(origin=Origin.AUTOPILOT, state=JobState.SCHEDULED)
        .values("kind")
        .annotate(jobs=Count("pk"), first=Min("run_after"))
        .order_by("first")
        .values_list("kind", "jobs", "first")
    )
    month = add_months(last_open_month(now), 1)
    return Outlook(
        next_pass_at,
        [(kind_label(kind), jobs, first) for kind, jobs, first in scheduled],
        latest.waiting if latest else {},
        (month, window_opens(month)),
    )
