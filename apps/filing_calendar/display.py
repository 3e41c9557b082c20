"""The 征期 calendar as a person reads it: a month of days with holidays (holidays.py), the
filing deadline with its source, the day 抄报 opens, and the entries other apps register (the
scheduled batches the user may see); the same facts go to the ICS feed."""

import calendar
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils import timezone, translation

from apps.core.months import add_months
from apps.core.text import Text

from .holidays import day_info
from .models import FilingDeadline, Source, estimated_deadline


@dataclass(frozen=True)
class MonthDeadline:
    month: dt.date  # the month the deadline falls in; the return is for the month before
    date: dt.date
    source: str
    reference: str

    @property
    def source_label(self) -> Text:
        return Source(self.source).label

    @property
    def is_estimate(self) -> bool:
        return self.source in Source.estimated()

    @property
    def period_month(self) -> dt.date:
        return add_months(self.month, -1)


@dataclass(frozen=True)
class Entry:
    """One thing an app puts on the calendar: on the month page, `text` at its start's time (a link
    when `url` is set); in the feed, an event of an hour."""

    uid: str  # the feed's
    css: str  # the page's class
    start: dt.datetime
    text: str
    summary: str  # the feed's
    category: str  # the feed's
    url: str = ""


# What the calendar shows besides deadlines, each source registered by its app (register, in its
# AppConfig.ready), so the calendar imports none of them. A source gives the entries of what
# starts in [start, end) that `user` may see.
EntrySource = Callable[[object, dt.datetime, dt.datetime], Iterable[Entry]]
ENTRY_SOURCES: dict[str, EntrySource] = {}


def register(name: str, source: EntrySource) -> None:
    """A name registered again replaces its source."""
    ENTRY_SOURCES[name] = source


def entries(user, start: dt.datetime, end: dt.datetime) -> list[Entry]:
    return [entry for source in ENTRY_SOURCES.values() for entry in source(user, start, end)]


@dataclass
class Day:
    date: dt.date
    in_month: bool
    rest: bool = False
    holiday: str = ""
    makeup_workday: bool = False  # 调休上班: a weekend day that is a working day
    deadline: MonthDeadline | None = None
    summary_opens: bool = False
    entries: list[Entry] = field(default_factory=list)


def deadlines_between(first: dt.date, last: dt.date) -> list[MonthDeadline]:
    """The deadline of every month from `first` to `last` (first days), stored or estimated."""
    rows = {row.month: row for row in FilingDeadline.objects.filter(month__range=(first, last))}
    result, month = [], first
    while month <= last:
        row = rows.get(month)
        result.append(
            MonthDeadline(month, row.deadline, row.source, row.reference)
            if row
            else MonthDeadline(month, *estimated_deadline(month), "")
        )
        month = add_months(month, 1)
    return result


def holiday_name(day: dt.date) -> str:
    """The holiday's name in the page's language, or "" (provisional for a year the
    chinese-calendar package does not know yet: the page says so)."""
    holiday = day_info(day).holiday
    if holiday is None:
        return ""
    return holiday.value if (translation.get_language() or "").startswith("en") else holiday.chinese


def local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def month_grid(month: dt.date, user) -> list[list[Day]]:
    """The weeks (Monday first) covering `month`, each day with what happens on it."""
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    deadline = deadlines_between(month, month)[0]
    by_day: dict[dt.date, list[Entry]] = {}
    for entry in entries(user, local_midnight(weeks[0][0]), local_midnight(weeks[-1][-1]) + dt.timedelta(1)):
        by_day.setdefault(timezone.localdate(entry.start), []).append(entry)
    grid = []
    for week in weeks:
        row = []
        for day in week:
            info = day_info(day)
            row.append(
                Day(
                    date=day,
                    in_month=day.month == month.month,
                    rest=info.rest,
                    holiday=holiday_name(day),
                    makeup_workday=info.makeup_workday,
                    deadline=deadline if day == deadline.date else None,
                    summary_opens=day == month,
                    entries=by_day.get(day, []),
                )
            )
        grid.append(row)
    return grid
