"""需要处理: what a person must do now, one row per thing, derived from the facts each time and
never stored, so a row goes away when its cause does (nothing is "acknowledged away"). A 会计
sees the rows of their own clients, an admin all of them."""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.autopilot.models import Autopilot, stalled
from apps.clients.models import Client
from apps.core.months import add_months, format_month
from apps.core.permissions import is_firm_admin
from apps.devices.errors import DEVICE_LOCKED, PASSWORD_CODES, error_info
from apps.devices.models import Agent, Device, Health
from apps.filing_calendar.models import is_provisional
from apps.filing_calendar.services import years_awaiting_table
from apps.holds.models import Hold, HoldReason
from apps.jobs.health import sweep_stale_cached
from apps.jobs.models import Job, JobState
from apps.notifications.models import BROKEN_AFTER_FAILURES, Channel
from apps.periods.models import Period, acting_month, digital_q, in_filing_season, working_month
from apps.periods.queries import clients_for_month
from apps.periods.rules import FINISHED, REMEDIES, PeriodStatus

NEAR_LOCK_DAYS = 2  # a device this close to its lock date and not cleared
OVERDUE_MONTHS = 12  # how far back an unrecorded return is still listed as 逾期未申报


class Kind:
    SWEEP_STALE = "sweep_stale"
    AUTOPILOT_STALLED = "autopilot_stalled"
    HELD = "held"
    FAILED = "failed"
    NEAR_LOCK = "near_lock"
    MISSING = "missing"
    AGENT_OFFLINE = "agent_offline"
    RETURN_OVERDUE = "return_overdue"
    RETURN_DUE = "return_due"
    CHANNEL_BROKEN = "channel_broken"
    DEADLINES_MISSING = "deadlines_missing"
    OFFLINE_INVOICES = "offline_invoices"
    DEREGISTER = "deregister"


KIND_LABELS = {
    Kind.SWEEP_STALE: gettext_lazy("后台巡检已停止"),
    Kind.AUTOPILOT_STALLED: gettext_lazy("自动清卡没有进展"),
    Kind.HELD: gettext_lazy("设备已暂停"),
    Kind.FAILED: gettext_lazy("任务失败，不会自动重试"),
    Kind.NEAR_LOCK: gettext_lazy("临近锁死"),
    Kind.MISSING: gettext_lazy("征期内设备不在位"),
    Kind.AGENT_OFFLINE: gettext_lazy("前置机离线"),
    Kind.RETURN_OVERDUE: gettext_lazy("逾期未申报"),
    Kind.RETURN_DUE: gettext_lazy("临近截止仍未记录申报"),
    Kind.CHANNEL_BROKEN: gettext_lazy("通知渠道发送失败"),
    Kind.DEADLINES_MISSING: gettext_lazy("征期尚未录入"),
    Kind.OFFLINE_INVOICES: gettext_lazy("离线发票临近上传截止"),
    Kind.DEREGISTER: gettext_lazy("设备待注销"),
}
ORDER = list(KIND_LABELS)


@dataclass
class Row:
    kind: str
    since: dt.datetime | dt.date | None
    reason: str
    remedy: str
    client: Client | None = None
    device: Device | None = None
    actions: dict = field(default_factory=dict)  # "release": hold, "retry": job, "record_return"/"open": client

    @property
    def label(self):
        return KIND_LABELS[self.kind]

    @property
    def staff(self):
        return self.client.staff if self.client else None


def rows_for(user, now: dt.datetime) -> list[Row]:
    """Every row `user` may see, most urgent first, then oldest first."""
    today = timezone.localdate(now)
    clients = Client.objects.visible_to(user).filter(active=True)
    rows = (
        _sweep_stale()
        + _autopilot_stalled(user)
        + _held(clients)
        + _failed(clients)
        + _near_lock(user, now)
        + _missing(clients, today)
        + _agents_offline(user, clients)
        + _returns_overdue(clients, now)
        + _returns_due(user, now)
        + _channels_broken(user)
        + _deadlines_missing(user, today)
        + _offline_invoices(clients, now)
        + _deregister(clients, now)
    )
    rows.sort(key=lambda row: (ORDER.index(row.kind), _sortable(row.since)))
    return rows


def _sortable(since) -> dt.datetime:
    if since is None:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    if isinstance(since, dt.datetime):
        return since
    return dt.datetime.combine(since, dt.time(), dt.UTC)


def _sweep_stale() -> list[Row]:
    """No sweep finished for three intervals: leases, retries, lost messages, offline agents and
    the autopilot all wait. Everyone sees it: it stops everyone's month."""
    if not sweep_stale_cached():
        return []
    return [
        Row(
            Kind.SWEEP_STALE,
            None,
            _("后台巡检超过三个周期没有完成：租约到期、重试、重发消息、离线判断和自动清卡都不会进行"),
            _("检查 run_sweeper 进程与数据库连接"),
        )
    ]


def _autopilot_stalled(user) -> list[Row]:
    """The cycle is on, yet for a whole interval its passes made nothing while work was due on some
    device (apps/autopilot/models.stalled). Admins only: they run the cycle."""
    if not is_firm_admin(user) or not Autopilot.current().enabled:
        return []
    found = stalled(dt.timedelta(seconds=settings.QINGKA_AUTOPILOT_SECONDS))
    if found is None:
        return []
    since, latest = found
    reason = _("自动清卡已开启，但没有创建任何任务，而 %(n)d 台设备有待办") % {"n": sum(latest.waiting.values())}
    if main := latest.main_reason:
        reason += _("；主要原因：%(reason)s（%(count)d 台）") % {"reason": main[0], "count": main[1]}
    remedy = _("在自动清卡页查看每轮未处理的原因并处理，例如检查前置机、解除暂停")
    return [Row(Kind.AUTOPILOT_STALLED, since, reason, remedy, actions={"autopilot": True})]


def _held(clients) -> list[Row]:
    rows = []
    for hold in Hold.objects.active().filter(device__client__in=clients).select_related("device__client__staff"):
        device = hold.device
        reason = f"{hold.get_reason_display()}：{hold.described}"
        remedy = (
            _("核对口令后选择“口令已更正”并填写新口令；切勿反复尝试")
            if hold.reason == HoldReason.PASSWORD
            else _("到主管税务机关处理锁死后选择“已处理”")
        )
        rows.append(Row(Kind.HELD, hold.created_at, reason, remedy, device.client, device, {"release": hold}))
    return rows


def _failed(clients) -> list[Row]:
    """The last job of a device failed for good on an error a person must fix (a password or a
    lock is a hold instead)."""
    latest = Job.objects.cycle_work().filter(device=OuterRef("device")).order_by("-created_at", "-pk").values("pk")[:1]
    failed = (
        Job.objects.filter(state=JobState.FAILED, device__client__in=clients, pk=Subquery(latest))
        .exclude(error_code__in=(*PASSWORD_CODES, DEVICE_LOCKED))
        .select_related("device__client__staff", "period")
    )
    rows = []
    for job in failed:
        info = error_info(job.error_code)
        reason = f"{job.get_kind_display()}：{info.message}"
        rows.append(
            Row(Kind.FAILED, job.finished_at, reason, str(info.remedy), job.device.client, job.device, {"retry": job})
        )
    return rows


def _near_lock(user, now: dt.datetime) -> list[Row]:
    today = timezone.localdate(now)
    month = acting_month(now)
    unfinished = clients_for_month(user, month, now).exclude(status_code__in=(*FINISHED, PeriodStatus.LOCKED))
    devices = (
        Device.objects.in_service(month)
        .filter(
            client__in=unfinished.values("pk"),
            lock_date__gte=today,
            lock_date__lte=today + dt.timedelta(days=NEAR_LOCK_DAYS),
        )
        .select_related("client__staff")
    )
    return [
        Row(
            Kind.NEAR_LOCK,
            device.lock_date,
            _("设备将于 %(day)s 之后锁死，本期尚未清卡") % {"day": device.lock_date},
            _("尽快完成申报、抄报与清卡"),
            device.client,
            device,
            {"open": device.client},
        )
        for device in devices
    ]


def _missing(clients, today: dt.date) -> list[Row]:
    """Devices the working period needs, not plugged in: not a retired device's, nor a 数电 client's."""
    working = working_month(today)
    if not in_filing_season(today, working):
        return []
    devices = (
        Device.objects.in_service(working)
        .filter(client__in=clients.exclude(digital_q("pk", working)), present=False)
        .select_related("client__staff")
    )
    return [
        Row(
            Kind.MISSING,
            device.last_seen_at,
            _("%(device)s 未插入前置机") % {"device": device},
            _("插好设备并确认系统识别"),
            device.client,
            device,
            {"open": device.client},
        )
        for device in devices
    ]


def _agents_offline(user, clients) -> list[Row]:
    """Offline agents; a 会计 sees those holding a device of theirs."""
    agents = Agent.objects.filter(enabled=True, online=False)
    if not is_firm_admin(user):
        agents = agents.filter(devices__client__in=clients).distinct()
    return [
        Row(
            Kind.AGENT_OFFLINE,
            agent.last_heartbeat_at,
            _("前置机“%(agent)s”离线") % {"agent": agent},
            _("检查前置机的电源、网络与 qingka-agent 程序"),
        )
        for agent in agents
    ]


def _deadline_text(period_month: dt.date, deadline: dt.date) -> str:
    """A deadline as the rows say it, marked 预估 where it rests on provisional holidays."""
    return f"{deadline}（{_('预估')}）" if is_provisional(period_month, deadline) else str(deadline)


def _returns_overdue(clients, now: dt.datetime) -> list[Row]:
    """Returns not recorded by their deadline, in the period being worked on or an older one: the
    working period moving on does not make them go away."""
    working = working_month(timezone.localdate(now))
    overdue = (
        Period.objects.with_status(now)
        .filter(client__in=clients, month__gte=add_months(working, -OVERDUE_MONTHS), month__lte=working)
        .filter(status_code=PeriodStatus.RETURN_OVERDUE)
        .select_related("client__staff")
        .order_by("month", "client__name")
    )
    return [
        Row(
            Kind.RETURN_OVERDUE,
            period.deadline,
            _("%(month)s 的申报截止日 %(day)s 已过，尚未记录申报")
            % {"month": format_month(period.month), "day": _deadline_text(period.month, period.deadline)},
            str(REMEDIES[PeriodStatus.RETURN_OVERDUE]),
            period.client,
            actions={"record_return": period.client},
        )
        for period in overdue
    ]


def _returns_due(user, now: dt.datetime) -> list[Row]:
    """Returns not recorded N days before the deadline (N set by the firm)."""
    today = timezone.localdate(now)
    days = Autopilot.current().reminder_days
    month = acting_month(now)
    due = clients_for_month(user, month, now).filter(
        status_code=PeriodStatus.RETURN_DUE, period_deadline__lte=today + dt.timedelta(days=days)
    )
    return [
        Row(
            Kind.RETURN_DUE,
            client.period_deadline - dt.timedelta(days=days),
            _("申报截止日 %(day)s，尚未记录申报") % {"day": _deadline_text(month, client.period_deadline)},
            _("在电子税务局完成申报后，在系统中记录申报"),
            client,
            actions={"record_return": client},
        )
        for client in due.select_related("staff")
    ]


def _channels_broken(user) -> list[Row]:
    channels = Channel.objects.filter(failures_in_a_row__gte=BROKEN_AFTER_FAILURES)
    if not is_firm_admin(user):
        channels = channels.filter(Q(user=user))
    return [
        Row(
            Kind.CHANNEL_BROKEN,
            None,
            _("通知渠道“%(name)s”连续 %(n)d 次发送失败") % {"name": channel.name, "n": channel.failures_in_a_row},
            _("检查渠道地址与网络，发送测试消息确认"),
        )
        for channel in channels
    ]


def _deadlines_missing(user, today: dt.date) -> list[Row]:
    """From December, next year's published 征期 table not entered yet (and this year's, while
    it is not): the deadlines until then are the rule's, 预估. Admins only: they enter it."""
    if not is_firm_admin(user):
        return []
    return [
        Row(
            Kind.DEADLINES_MISSING,
            None,
            _("%(year)d年征期尚未录入官方日期") % {"year": year},
            _("国家税务总局公布后，在征期日历中录入或粘贴全年12个月的申报截止日"),
            actions={"deadlines": year},
        )
        for year in years_awaiting_table(today)
    ]


OFFLINE_WARNING_DAYS = 2  # offline invoices still on a device this close to its 上传截止日期


def _offline_invoices(clients, now: dt.datetime) -> list[Row]:
    """Invoices issued offline and still only on the device (offline_pending) from two days before its
    上传截止日期 (scjzrq): past it the device stops invoicing (246) and its 抄报 fails."""
    today = timezone.localdate(now)
    devices = (
        Device.objects.in_service(acting_month(now))
        .filter(client__in=clients, monitoring__offline_pending__gt=0)
        .select_related("client__staff")
    )
    rows = []
    for device in devices:
        deadline = device.monitoring_date("scjzrq")
        if deadline is None or today < deadline - dt.timedelta(days=OFFLINE_WARNING_DAYS):
            continue
        rows.append(
            Row(
                Kind.OFFLINE_INVOICES,
                deadline - dt.timedelta(days=OFFLINE_WARNING_DAYS),
                _("%(n)s 张离线发票尚未上传，上传截止日期 %(day)s")
                % {"n": device.monitoring["offline_pending"], "day": deadline},
                _("发起“上传离线发票”（自动清卡在抄报前也会上传）；过了截止日期设备将不能开票"),
                device.client,
                device,
                {"open": device.client},
            )
        )
    return rows


def _deregister(clients, now: dt.datetime) -> list[Row]:
    """Devices a switch to 数电 retired, not yet marked 已注销: the bureau cancels a device once its last
    period (the month before the switch) is done."""
    devices = Device.objects.filter(
        client__in=clients, health=Health.RETIRED, retired_from__isnull=False, deregistered_at__isnull=True
    ).select_related("client__staff")
    rows = []
    for device in devices:
        retired_from = device.retired_from
        assert retired_from is not None, "filtered on it"
        last = add_months(retired_from, -1)
        period = Period.objects.filter(client=device.client, month=last).first()
        done = period is not None and period.status(now) in FINISHED
        texts = {"device": device, "month": format_month(retired_from), "last": format_month(last)}
        if done:
            reason = _("%(month)s 起改用数电，最后一期 %(last)s 已完成：%(device)s 须到税务机关注销") % texts
        else:
            reason = _("%(month)s 起改用数电：%(device)s 完成最后一期 %(last)s 的抄报清卡后，须到税务机关注销") % texts
        remedy = _("到主管税务机关办理设备注销后，选择“已注销”")
        rows.append(Row(Kind.DEREGISTER, retired_from, reason, remedy, device.client, device, {"deregister": device}))
    return rows
