"""征期: the monthly filing deadline. Official tables are data (the migrations load
docs/domain.md's 2024, 2025 and 2026 tables); this module only estimates a month nobody has
published yet, by the extension rule as the bureau applies it (docs/domain.md, 征期)."""

import datetime as dt
from dataclasses import dataclass

from apps.core.months import add_months

from .holidays import is_rest_day

MIN_RUN = 3  # consecutive rest days, counted inside the 1st–15th, that extend the deadline


@dataclass(frozen=True)
class Estimate:
    date: dt.date
    provisional: bool  # the holidays it rests on are laid out provisionally (预估), not published


def estimate_deadline(month: dt.date) -> Estimate:
    """The deadline falling in `month` (its first day) by the extension rule: every run of
    MIN_RUN or more consecutive rest days within the 1st–15th (only its days inside that window
    count, and they must number MIN_RUN or more) extends the deadline by its length N in working
    days: the N-th working day after the 15th. With no such run, the 15th, or the next working
    day when the 15th is a rest day."""
    provisional = False

    def rest(day: dt.date) -> bool:
        nonlocal provisional
        answer, from_layout = is_rest_day(day)
        provisional = provisional or from_layout
        return answer

    fifteenth = month.replace(day=15)
    extension, run = 0, 0
    for offset in range(15):
        if rest(month + dt.timedelta(days=offset)):
            run += 1
            continue
        extension += run if run >= MIN_RUN else 0
        run = 0
    extension += run if run >= MIN_RUN else 0
    day = fifteenth
    if extension == 0:
        while rest(day):
            day += dt.timedelta(days=1)
    while extension:
        day += dt.timedelta(days=1)
        if not rest(day):
            extension -= 1
    return Estimate(day, provisional)


def period_deadline_month(period_month: dt.date) -> dt.date:
    """The return for period M is due in month M+1."""
    return add_months(period_month, 1)
