"""What the site tells people, and when. Every notification is derived from the state the other
apps wrote (a hold, an agent offline, a batch done with failures, a device missing, the clock), by
the sweep (apps/operations/sweeper.py), never sent by the code that wrote it (as healthchecks
does). Each becomes one notification with a key, so that the same fact is never notified twice
however often it is seen. Short Chinese messages that link to the page where the person acts."""

import datetime as dt

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.core.months import format_month
from apps.devices.models import Agent, Device
from apps.filing_calendar.services import years_awaiting_table
from apps.holds.models import Hold
from apps.jobs.models import ACTIVE_STATES, JobState
from apps.periods.models import acting_month, in_filing_season, working_month
from apps.periods.queries import clients_for_month, status_counts
from apps.periods.rules import FINISHED, PeriodStatus
from apps.scheduling.models import Batch

from .delivery import notify, resend_stuck
from .models import Event, Notification

DIGEST_HOUR = 9  # the daily digest and the weekly summary go out at 09:00, Shanghai time


def device_held(hold) -> None:
    """A password failure or a lock: to the client's 会计 and the firm."""
    device, client = hold.device, hold.device.client
    subject = f"【清卡】{client.name}：{hold.get_reason_display()}，设备已暂停"
    body = f"{client.name} 的{device.get_kind_display()} {device.number}：{hold.message or hold.error_code}。"
    body += "已暂停该设备的所有任务，请处理后在需要处理页面解除暂停。"
    notify(
        held_key(hold),
        Event.DEVICE_HELD,
        subject,
        body,
        reverse("attention:list"),
        client=client,
        users=[client.staff],
    )


def agent_offline(agent) -> None:
    """An agent the sweep marked offline: to the firm."""
    since = agent.last_heartbeat_at
    subject = f"【清卡】前置机“{agent.name}”离线"
    where = agent.location or agent.hostname
    body = f"前置机“{agent.name}”（{where}）自 {timezone.localtime(since):%m-%d %H:%M} 起未发送心跳，"
    body += "其设备上的任务将等待。请检查前置机电源、网络与程序。"
    notify(offline_key(agent), Event.AGENT_OFFLINE, subject, body, reverse("dashboard"))


def device_missing(device) -> None:
    """A device in service no agent has seen since `last_seen_at`: to the client's 会计 and the firm."""
    client, since = device.client, device.last_seen_at
    subject = f"【清卡】{client.name} 的设备不在位"
    body = f"征期内 {client.name} 的{device.get_kind_display()} {device.number} "
    body += f"自 {timezone.localtime(since):%m-%d %H:%M} 起未被前置机发现。请插好设备并确认系统识别。"
    notify(
        missing_key(device),
        Event.DEVICE_MISSING,
        subject,
        body,
        reverse("clients:detail", args=[client.pk]),
        client=client,
        users=[client.staff],
    )


def batch_failed(batch) -> None:
    """A batch all of whose jobs finished, with failures among them (`batch` counted by
    failed_batches): to the firm and whoever made it."""
    subject = f"【清卡】批量任务 #{batch.pk} 已完成，{batch.failed} 个失败"
    body = f"{format_month(batch.month)} {batch.get_kind_display()}：共 {batch.total} 个任务，"
    body += f"{batch.failed} 个失败，请查看失败原因。"
    notify(
        batch_key(batch),
        Event.BATCH_FAILED,
        subject,
        body,
        reverse("scheduling:detail", args=[batch.pk]),
        users=[batch.created_by],
    )


def held_key(hold) -> str:
    return f"held:{hold.pk}"


def offline_key(agent) -> str:
    return f"agent_offline:{agent.pk}:{agent.last_heartbeat_at.isoformat()}"


def batch_key(batch) -> str:
    return f"batch_failed:{batch.pk}"


def deadlines_key(year: int) -> str:
    return f"deadlines_missing:{year}"


def each_once(rows, key, send) -> int:
    """`send(row)` for each of `rows` whose `key(row)` was never notified; how many were sent."""
    keyed = {key(row): row for row in rows}
    known = set(Notification.objects.filter(key__in=keyed).values_list("key", flat=True))
    for row_key, row in keyed.items():
        if row_key not in known:
            send(row)
    return len(keyed.keys() - known)


def held_devices() -> int:
    """Each hold, once, while it lasts: the device waits for a person."""
    return each_once(Hold.objects.active().select_related("device__client__staff"), held_key, device_held)


def offline_agents() -> int:
    """Each agent the sweep marked offline, once per silence (the heartbeat it went quiet after)."""
    silent = Agent.objects.filter(online=False, last_heartbeat_at__isnull=False)
    return each_once(silent, offline_key, agent_offline)


BATCH_NEWS_DAYS = 7  # a batch is told of when a job of it failed this recently (a sweeper away that long misses it)


def failed_batches(now: dt.datetime) -> int:
    """Each batch once, when none of its jobs is left to run and some failed."""
    recent = Batch.objects.filter(
        jobs__state=JobState.FAILED, jobs__finished_at__gte=now - dt.timedelta(days=BATCH_NEWS_DAYS)
    ).values("pk")
    done = (
        Batch.objects.filter(pk__in=recent)
        .select_related("created_by")
        .annotate(
            active=Count("jobs", filter=Q(jobs__state__in=ACTIVE_STATES)),
            failed=Count("jobs", filter=Q(jobs__state=JobState.FAILED)),
            total=Count("jobs"),
        )
        .filter(active=0)
    )
    return each_once(done, batch_key, batch_failed)


def scheduled(now: dt.datetime) -> int:
    """The sweep's part: what the state calls for, what is due by the clock, and deliveries a lost
    queue item left behind."""
    return (
        held_devices()
        + offline_agents()
        + failed_batches(now)
        + daily_digests(now)
        + int(weekly_summary(now))
        + missing_devices(now)
        + deadlines_missing(now)
        + resend_stuck(now)
    )


def deadlines_missing(now: dt.datetime) -> int:
    """At 09:00, once per year: the published 征期 table of a year an admin should enter (from
    December, next year's), to the firm and its admins."""
    local = timezone.localtime(now)
    if local.hour < DIGEST_HOUR:
        return 0
    admins = list(User.objects.filter(role=User.Role.ADMIN, is_active=True))

    def tell(year: int) -> None:
        subject = f"【清卡】{year}年征期尚未录入官方日期"
        body = f"{year}年的申报截止日目前按节假日推算（预估）。国家税务总局公布征期后，"
        body += "请管理员在征期日历中录入或粘贴全年12个月的日期。"
        path = reverse("calendar_year", args=[year])
        notify(deadlines_key(year), Event.DEADLINES_MISSING, subject, body, path, users=admins)

    return each_once(years_awaiting_table(local.date()), deadlines_key, tell)


def missing_devices(now: dt.datetime) -> int:
    """During the 征期, each device that went missing is notified once (per disappearance)."""
    today = timezone.localdate(now)
    if not in_filing_season(today, working_month(today)):
        return 0
    missing = (
        Device.objects.in_service()
        .filter(present=False, last_seen_at__isnull=False, client__active=True)
        .select_related("client__staff")
    )
    return each_once(missing, missing_key, device_missing)


def missing_key(device) -> str:
    return f"missing:{device.pk}:{device.last_seen_at.isoformat()}"


def daily_digests(now: dt.datetime) -> int:
    """At 09:00: each 会计 their clients not done in the working period, with the days left."""
    local = timezone.localtime(now)
    if local.hour < DIGEST_HOUR:
        return 0
    keys = {
        f"digest:{pk}:{local.date().isoformat()}": pk
        for pk in User.objects.filter(role=User.Role.ACCOUNTANT, is_active=True).values_list("pk", flat=True)
    }
    keys = {key: pk for key, pk in keys.items() if not Notification.objects.filter(key=key).exists()}
    if not keys:
        return 0
    month = acting_month(now)
    sent = 0
    for key, pk in keys.items():
        accountant = User.objects.get(pk=pk)
        rows = digest_rows(clients_for_month(accountant, month, now), local.date())
        body = digest_body(month, rows)
        if notify(
            key,
            Event.DAILY_DIGEST,
            f"【清卡】{local:%m月%d日} 待办：{len(rows)} 户未完成",
            body,
            reverse("dashboard"),
            users=[accountant],
            firm=False,
        ):
            sent += 1
    return sent


def digest_rows(clients, today: dt.date) -> list[tuple[str, str, int]]:
    """(client name, status label, days left) of the clients not done, nearest deadline first."""
    unfinished = clients.exclude(status_code__in=(*FINISHED, PeriodStatus.NOT_OPEN)).order_by("period_deadline", "name")
    return [
        (client.name, str(PeriodStatus(client.status_code).label), (client.period_deadline - today).days)
        for client in unfinished
    ]


def digest_body(month: dt.date, rows) -> str:
    if not rows:
        return f"{format_month(month)} 的客户均已完成。"
    lines = [f"{format_month(month)} 未完成的客户："]
    lines += [
        f"· {name}：{status}，{'剩' + str(days) + '天' if days >= 0 else '已逾期' + str(-days) + '天'}"
        for name, status, days in rows
    ]
    return "\n".join(lines)


def weekly_summary(now: dt.datetime) -> bool:
    """Mondays at 09:00: the month-end so far, to the firm."""
    local = timezone.localtime(now)
    if local.weekday() != 0 or local.hour < DIGEST_HOUR:
        return False
    month = working_month(local.date())
    counts = status_counts(clients_for_month(None, month, now))
    parts = [f"{PeriodStatus(code).label} {n}" for code, n in counts.items() if code != "late" and n]
    body = f"{format_month(month)}：" + "，".join(parts) + f"；逾期 {counts['late']}。"
    year, week, _day = local.isocalendar()
    key = f"weekly:{year}-{week}"
    if Notification.objects.filter(key=key).exists():
        return False
    return bool(
        notify(
            key,
            Event.WEEKLY_SUMMARY,
            f"【清卡】本周月末汇总（{format_month(month)}）",
            body,
            reverse("dashboard"),
        )
    )
