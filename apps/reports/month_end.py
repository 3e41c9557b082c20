"""月结报告: one row per client for a period month (status, the dates of 抄报, 申报 and 清卡, which of
them were late, the last job and its error with the remedy, the responsible 会计), and the counts
a firm's owner reads first. The rows come from the dashboard's own query, so the two agree."""

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.export import Sheet
from apps.devices.errors import error_info
from apps.filing_calendar.models import Deadline, period_deadline
from apps.jobs.queries import attach_last_jobs
from apps.periods.queries import clients_for_month
from apps.periods.rules import FINISHED, PeriodStatus, lateness, return_due

COLUMNS = [
    gettext_lazy("客户名称"),
    gettext_lazy("纳税人识别号"),
    gettext_lazy("负责会计"),
    gettext_lazy("申报状态"),
    gettext_lazy("申报截止日"),
    gettext_lazy("抄报日期"),
    gettext_lazy("申报日期"),
    gettext_lazy("清卡日期"),
    gettext_lazy("逾期"),
    gettext_lazy("最近任务"),
    gettext_lazy("错误信息"),
    gettext_lazy("处理建议"),
]


@dataclass
class Row:
    client: Any  # a row of clients_for_month
    status: PeriodStatus
    deadline: dt.date
    summary_on: dt.date | None
    filed_on: dt.date | None
    cleared_on: dt.date | None
    late_steps: list[str]  # the steps done after the deadline, or still undone past it
    last_job: str
    error: str
    remedy: str

    @property
    def accountant(self) -> str:
        return str(self.client.staff or "")

    def values(self) -> list:
        return [
            self.client.name,
            self.client.taxpayer_id,
            self.accountant,
            self.status.label,
            self.deadline,
            self.summary_on,
            self.filed_on,
            self.cleared_on,
            "、".join(self.late_steps),
            self.last_job,
            self.error,
            self.remedy,
        ]


@dataclass
class Report:
    month: dt.date
    deadline: Deadline  # the calendar's, with its source (预估 for provisional holidays)
    rows: list[Row]

    def status_counts(self) -> list[tuple[PeriodStatus, int]]:
        counts = Counter(row.status for row in self.rows)
        return [(status, counts[status]) for status in PeriodStatus if counts[status]]

    @property
    def late(self) -> int:
        return sum(1 for row in self.rows if row.late_steps)

    def by_accountant(self) -> list[dict]:
        """Per 会计: clients, done, late; the unassigned last."""
        groups: dict[str, dict] = {}
        for row in self.rows:
            group = groups.setdefault(
                row.accountant, {"accountant": row.accountant, "clients": 0, "done": 0, "late": 0}
            )
            group["clients"] += 1
            group["done"] += row.status in FINISHED
            group["late"] += bool(row.late_steps)
        return sorted(groups.values(), key=lambda g: (g["accountant"] == "", g["accountant"]))

    def sheets(self) -> list[Sheet]:
        """The workbook: the summary first, then every client."""
        summary: list[list] = [
            [_("所属月份"), f"{self.month:%Y-%m}"],
            [_("申报截止日"), f"{self.deadline.date:%Y-%m-%d}（{self.deadline.source_label}）"],
            [_("客户数"), len(self.rows)],
            *([status.label, n] for status, n in self.status_counts()),
            [_("有逾期的客户"), self.late],
            [],
            [_("负责会计"), _("客户数"), _("已完成"), _("有逾期")],
            *([g["accountant"] or _("未分配"), g["clients"], g["done"], g["late"]] for g in self.by_accountant()),
        ]
        # the month as the reader's language writes it: 2026年11月, November 2026
        caption = _("%(month)s所属期 月结报告") % {"month": date_format(self.month, "YEAR_MONTH_FORMAT")}
        return [
            Sheet(_("汇总"), [_("项目"), _("数值")], summary, caption=f"{caption} · {_('汇总')}"),
            Sheet(
                _("客户明细"),
                COLUMNS,
                [row.values() for row in self.rows],
                text_columns=(1,),
                caption=f"{caption} · {_('客户明细')}",
            ),
        ]


def month_end_report(user, month: dt.date, now: dt.datetime, accountant=None) -> Report:
    """The report of `month` for the clients `user` sees, or those of one 会计 among them."""
    deadline = period_deadline(month)
    clients = clients_for_month(user, month, now, deadline=deadline.date).order_by("staff__username", "name", "pk")
    if accountant is not None:
        clients = clients.filter(staff=accountant)
    clients = list(
        clients.annotate(
            summary_at=F("this_period__summary_uploaded_at"),
            filed_on=F("this_period__return_filed_on"),
            cleared_at=F("this_period__cleared_at"),
        )
    )
    attach_last_jobs(clients)
    return Report(month, deadline, [_row(client, month, timezone.localdate(now)) for client in clients])


def _row(client, month: dt.date, today: dt.date) -> Row:
    summary_on, filed_on, cleared_on = _day(client.summary_at), client.filed_on, _day(client.cleared_at)
    status = PeriodStatus(client.status_code)
    late = lateness(
        deadline=client.period_deadline,
        today=today,
        return_required=return_due(client.filing_frequency, month),
        summary_on=summary_on,
        filed_on=filed_on,
        cleared_on=cleared_on,
    )
    job = client.last_job
    error = error_info(job.error_code) if job and job.error_code else None
    return Row(
        client=client,
        status=status,
        deadline=client.period_deadline,
        summary_on=summary_on,
        filed_on=filed_on,
        cleared_on=cleared_on,
        late_steps=[
            str(label)
            for flag, label in ((late.summary, _("抄报")), (late.filing, _("申报")), (late.clear, _("清卡")))
            if flag
        ],
        last_job=f"{job.get_kind_display()} {job.get_state_display()}" if job else "",
        error=str(error.message) if error else "",
        remedy=str(error.remedy) if error else "",
    )


def _day(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(moment) if moment else None
