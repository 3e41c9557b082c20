"""The dashboard's questions, each answered in SQL so a page costs the same few queries for 10
clients or 5,000: status of each client's period, its deadline, its last job, its risk order."""

import datetime as dt

from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from apps.clients.models import Client
from apps.core.months import add_months
from apps.devices.models import Agent, Device, Health
from apps.filing_calendar.models import deadline_for
from apps.jobs.models import Job
from apps.periods.models import status_expression
from apps.periods.rules import PeriodStatus, period_status

S = PeriodStatus
# How far from done: the lower, the more urgent. Locked first, done last.
RISK_RANK = {S.LOCKED: 0, S.SUMMARY_DUE: 1, S.RETURN_DUE: 2, S.CLEAR_DUE: 3, S.NO_RETURN_THIS_MONTH: 3, S.DONE: 4}


def missing_period_status(deadline: dt.date, today: dt.date) -> PeriodStatus:
    """A client without a period row for the month has done nothing yet: 待抄报 until its
    deadline passes. return_required does not matter before 抄报."""
    return period_status(
        return_required=True,
        summary_uploaded=False,
        return_filed=False,
        cleared=False,
        locked=False,
        today=today,
        deadline=deadline,
    )


def risk_rank(status: str) -> int:
    return RISK_RANK[status]


def risk_rank_expression(field: str = "status_code") -> Case:
    """risk_rank() in SQL."""
    return Case(
        *(When(**{field: status}, then=Value(rank)) for status, rank in RISK_RANK.items()),
        default=Value(len(RISK_RANK)),
        output_field=IntegerField(),
    )


def order_by_risk(clients):
    """Done last; otherwise the nearest deadline first, then the furthest from done, then name."""
    return clients.annotate(risk=risk_rank_expression()).order_by(
        Case(When(status_code=S.DONE, then=Value(1)), default=Value(0), output_field=IntegerField()),
        "period_deadline",
        "risk",
        "name",
        "pk",
    )


def clients_for_month(user, month: dt.date, today: dt.date):
    """The clients `user` may see, each joined to its period of `month` and annotated with
    status_code, period_deadline, period_id and last_job_id. The period is a join, not a
    subquery, so sorting 5,000 clients by risk stays one cheap pass."""
    calendar_deadline = deadline_for(add_months(month, 1)).date
    last_job = Job.objects.filter(device__client=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        Client.objects.visible_to(user)
        .filter(active=True)
        .select_related("staff")
        .annotate(
            this_period=FilteredRelation("periods", condition=Q(periods__month=month)),
        )
        .annotate(
            period_id=F("this_period__id"),
            status_code=status_expression(
                today, period="this_period__", client="", missing=missing_period_status(calendar_deadline, today).value
            ),
            period_deadline=Coalesce(F("this_period__deadline"), Value(calendar_deadline), output_field=DateField()),
            last_job_id=Subquery(last_job.values("pk")[:1]),
        )
    )


def attach_last_jobs(clients) -> None:
    """Sets `last_job` on each client of a page, in one query."""
    jobs = Job.objects.in_bulk([c.last_job_id for c in clients if c.last_job_id])
    for client in clients:
        client.last_job = jobs.get(client.last_job_id)


def with_device(clients, **device_filter):
    """Clients having at least one device matching `device_filter`."""
    return clients.filter(Exists(Device.objects.filter(client=OuterRef("pk"), **device_filter)))


MISSING_DEVICE = {"present": False}
OFFLINE_AGENT = {"agent__online": False}


def status_counts(clients) -> dict[str, int]:
    rows = clients.order_by().values("status_code").annotate(n=Count("pk"))
    counts = dict.fromkeys(PeriodStatus.values, 0)
    counts.update({row["status_code"]: row["n"] for row in rows})
    return counts


def missing_device_count(clients) -> int:
    return Device.objects.filter(client__in=clients.values("pk"), present=False).exclude(health=Health.RETIRED).count()


def offline_agent_count() -> int:
    return Agent.objects.filter(enabled=True, online=False).count()


def agent_panel(user):
    """Every enabled agent with its devices present and missing (counts over all devices; the
    missing ones listed only when their client is visible to the user)."""
    visible_missing = (
        Device.objects.filter(present=False, client__in=Client.objects.visible_to(user).values("pk"))
        .exclude(health=Health.RETIRED)
        .select_related("client")
        .order_by("client__name", "sub_number")
    )
    return (
        Agent.objects.filter(enabled=True)
        .annotate(
            present_count=Count("devices", filter=Q(devices__present=True)),
            missing_count=Count("devices", filter=Q(devices__present=False) & ~Q(devices__health=Health.RETIRED)),
        )
        .prefetch_related(Prefetch("devices", queryset=visible_missing, to_attr="missing_devices"))
        .order_by("name")
    )
