"""The numbers behind the charts, each for the clients a user may see. A chart and the table
beside it are drawn from the same Series, so the table is the chart's own data.

Burn-down: the working period's clients not yet cleared (Period.cleared_at) at the end of each
day of the month in which the period is worked, beside the same curve for the period before,
each with its deadline. The clients counted are the active clients the user may see today.
Agents: jobs finished per agent per day, and the failures by error code per agent; a job counts
for the agent that holds its device now (a job row does not keep the agent that ran it)."""

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.clients.models import Client
from apps.core.months import add_months
from apps.devices.errors import error_info
from apps.filing_calendar.models import deadline_for
from apps.jobs.models import Job, JobState
from apps.periods.models import Period


@dataclass
class Series:
    label: str
    values: list  # one per label of the chart; None where there is no value (yet)


@dataclass
class Chart:
    """What charts.js draws: `kind` "line" or "bar", the labels of the x axis (or of the y
    axis when `horizontal`), the series, and vertical markers at some labels."""

    kind: str
    labels: list
    series: list[Series]
    stacked: bool = False
    horizontal: bool = False
    markers: list[dict] = field(default_factory=list)  # {"at": index of a label, "label": text}

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "labels": [str(label) for label in self.labels],
            "series": [{"label": str(s.label), "values": s.values} for s in self.series],
            "stacked": self.stacked,
            "horizontal": self.horizontal,
            "markers": self.markers,
        }

    def rows(self) -> list[tuple]:
        """The table beside the chart: one row per label, one column per series."""
        return [(label, *(s.values[i] for s in self.series)) for i, label in enumerate(self.labels)]


def _not_done_by_day(clients, period_month: dt.date, days: int, until: dt.date | None) -> list:
    """For day 1..days of the month after `period_month`: clients whose period is not cleared at
    the end of that day; None for days after `until`."""
    worked = add_months(period_month, 1)
    total = clients.count()
    cleared = sorted(
        timezone.localdate(moment)
        for moment in Period.objects.filter(client__in=clients, month=period_month).values_list("cleared_at", flat=True)
        if moment is not None
    )
    values: list[int | None] = []
    for n in range(1, days + 1):
        day = worked.replace(day=n)
        if until is not None and day > until:
            values.append(None)
        else:
            values.append(total - sum(1 for c in cleared if c <= day))
    return values


def burn_down(user, month: dt.date, today: dt.date) -> Chart:
    """Period `month` (worked in the month after it) beside the period before."""
    clients = Client.objects.visible_to(user).filter(active=True)
    days = 31
    series, markers = [], []
    for period_month, until in ((month, today), (add_months(month, -1), None)):
        worked = add_months(period_month, 1)
        length = calendar.monthrange(worked.year, worked.month)[1]
        values = _not_done_by_day(clients, period_month, length, until)
        series.append(
            Series(
                _("%(month)s所属期") % {"month": date_format(period_month, "YEAR_MONTH_FORMAT")},
                values + [None] * (days - length),
            )
        )
        deadline = deadline_for(worked).date
        markers.append(
            {
                "at": deadline.day - 1,
                "label": _("%(month)s所属期截止（%(day)d日）")
                % {"month": date_format(period_month, "YEAR_MONTH_FORMAT"), "day": deadline.day},
            }
        )
    return Chart("line", [_("%(day)d日") % {"day": n} for n in range(1, days + 1)], series, markers=markers)


def _finished_jobs(user, start: dt.datetime, end: dt.datetime):
    return Job.objects.visible_to(user).filter(
        state__in=(JobState.SUCCEEDED, JobState.FAILED), finished_at__gte=start, finished_at__lt=end
    )


def _agent_name(name) -> str:
    return name or _("未分配前置机")


def agent_throughput(user, first: dt.date, last: dt.date) -> Chart:
    """Jobs finished (succeeded or failed) per agent per day, from `first` to `last`."""
    start, end = _bounds(first, last)
    rows = (
        _finished_jobs(user, start, end)
        .annotate(day=TruncDate("finished_at", tzinfo=timezone.get_current_timezone()))
        .values("device__agent__name", "day")
        .annotate(n=Count("pk"))
    )
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    counts: dict[str, dict[dt.date, int]] = {}
    for row in rows:
        counts.setdefault(_agent_name(row["device__agent__name"]), {})[row["day"]] = row["n"]
    series = [Series(agent, [by_day.get(day, 0) for day in days]) for agent, by_day in sorted(counts.items())]
    return Chart("bar", [date_format(day, "m-d") for day in days], series)


def failures_by_code(user, first: dt.date, last: dt.date) -> tuple[Chart, list[dict]]:
    """Failed jobs by error code (most frequent first), one series per agent; and each code's
    message and remedy, for the table."""
    start, end = _bounds(first, last)
    rows = (
        _finished_jobs(user, start, end)
        .filter(state=JobState.FAILED)
        .values("error_code", "device__agent__name")
        .annotate(n=Count("pk"))
    )
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["error_code"] or "DRIVER_ERROR", {})[_agent_name(row["device__agent__name"])] = row["n"]
    codes = sorted(counts, key=lambda code: (-sum(counts[code].values()), code))
    agents = sorted({agent for by_agent in counts.values() for agent in by_agent})
    series = [Series(agent, [counts[code].get(agent, 0) for code in codes]) for agent in agents]
    infos = [{"code": code, "info": error_info(code), "total": sum(counts[code].values())} for code in codes]
    return Chart("bar", [str(error_info(code).message) for code in codes], series, stacked=True, horizontal=True), infos


def _bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(first, dt.time()))
    return start, timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
