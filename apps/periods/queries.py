"""Clients with their period of one month, status and lateness computed in SQL: the one query
behind the dashboard's counts, its table, the 上期未完成 block and the months API, so they
always agree."""

import datetime as dt

from django.db.models import Case, Count, DateField, F, FilteredRelation, Q, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from apps.clients.models import Client
from apps.filing_calendar.models import period_deadline

from .models import lock_estimate_expression, return_required_condition, status_expression
from .rules import PeriodStatus


def late_expression(today: dt.date, period: str, client: str, deadline):
    """Lateness.any in SQL: a step done after the deadline, or, for a period not cleared, the
    deadline passed."""
    done_late = Q(GreaterThan(TruncDate(f"{period}summary_uploaded_at"), deadline)) | (
        Q(GreaterThan(F(f"{period}return_filed_on"), deadline)) & return_required_condition(period, client)
    )
    cleared = Q(**{f"{period}cleared_at__isnull": False})
    return Case(
        When(cleared & (Q(GreaterThan(TruncDate(f"{period}cleared_at"), deadline)) | done_late), then=Value(True)),
        When(~cleared & (Q(GreaterThan(Value(today), deadline)) | done_late), then=Value(True)),
        default=Value(False),
    )


def clients_for_month(user, month: dt.date, now: dt.datetime, deadline: dt.date | None = None):
    """The active clients `user` may see (every one for None: the system), each joined to its
    period of `month` as with_month_status() does."""
    clients = Client.objects.visible_to(user) if user is not None else Client.objects.all()
    return with_month_status(clients.filter(active=True).select_related("staff"), month, now, deadline)


def with_month_status(clients, month: dt.date, now: dt.datetime, deadline: dt.date | None = None):
    """`clients` each joined to its period of `month` and annotated with status_code,
    lock_estimated, is_late, period_deadline and period_id. A client without a row for the month
    counts as a period with nothing done yet. The period is a join, not a subquery, so counting
    and sorting thousands of clients stays one cheap pass. `deadline`: the calendar's for the
    month, when the caller has it already."""
    deadline = deadline or period_deadline(month).date
    deadline_field = Coalesce(F("this_period__deadline"), Value(deadline), output_field=DateField())
    return clients.annotate(this_period=FilteredRelation("periods", condition=Q(periods__month=month))).annotate(
        period_id=F("this_period__id"),
        status_code=status_expression(
            now, period="this_period__", client="", client_pk="pk", month=month, deadline=deadline
        ),
        lock_estimated=lock_estimate_expression("pk", timezone.localdate(now), month),
        is_late=late_expression(timezone.localdate(now), "this_period__", "", deadline_field),
        period_deadline=deadline_field,
    )


def clients_counted(counts: dict[str, int]) -> int:
    """How many clients status_counts counted (`late` is a flag across statuses, not one of them)."""
    return sum(n for code, n in counts.items() if code != "late")


def status_counts(clients) -> dict[str, int]:
    """One number per status, and `late`: the periods with a step done, or still undone, after
    the deadline. One query."""
    rows = clients.order_by().values("status_code").annotate(n=Count("pk"), late=Count("pk", filter=Q(is_late=True)))
    counts = dict.fromkeys(PeriodStatus.values, 0)
    counts["late"] = 0
    for row in rows:
        counts[row["status_code"]] = row["n"]
        counts["late"] += row["late"]
    return counts
