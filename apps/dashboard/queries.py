"""The dashboard's questions, each answered in SQL so a page costs the same few queries for 10
clients or 5,000: status of each client's period, its deadline, its last job, its risk order."""

import json

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Value,
    When,
)

from apps.clients.models import Client
from apps.devices.models import Agent, Device, in_service_q
from apps.periods.rules import FINISHED, PeriodStatus

S = PeriodStatus
# How far from done: the lower, the more urgent. Locked first, done last.
RISK_RANK: dict[str, int] = {
    S.LOCKED: 0,
    S.RETURN_OVERDUE: 1,
    S.SUMMARY_DUE: 2,
    S.RETURN_DUE: 3,
    S.CLEAR_DUE: 4,
    S.NO_RETURN_THIS_MONTH: 4,
    S.NOT_OPEN: 5,
    S.DONE: 6,
    S.NO_CLEAR_NEEDED: 6,
}


def risk_rank(status: str) -> int:
    return RISK_RANK[status]


class RiskRank(Func):
    """risk_rank() in SQL, as a look-up in RISK_RANK written as JSON. A CASE with a branch per
    status would repeat the whole status expression (two device subqueries) in each branch."""

    output_field = IntegerField()

    def __init__(self, status):
        super().__init__(Value(json.dumps(RISK_RANK)), status)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="CAST(%(expressions)s AS integer)", arg_joiner="::jsonb ->> ", **extra
        )


def order_by_risk(clients):
    """Done last; otherwise the nearest deadline first, then the furthest from done, then name."""
    return clients.annotate(risk=RiskRank(F("status_code"))).order_by(
        Case(When(status_code__in=FINISHED, then=Value(1)), default=Value(0), output_field=IntegerField()),
        "period_deadline",
        "risk",
        "name",
        "pk",
    )


def with_device(clients, **device_filter):
    """Clients having at least one device matching `device_filter`."""
    return clients.filter(Exists(Device.objects.in_service().filter(client=OuterRef("pk"), **device_filter)))


MISSING_DEVICE = {"present": False}
OFFLINE_AGENT = {"agent__online": False}


def missing_device_count(clients) -> int:
    return Device.objects.in_service().filter(client__in=clients.values("pk"), present=False).count()


def agent_panel(user):
    """Every enabled agent with its devices present and missing (counts over all devices; the
    missing ones listed only when their client is visible to the user)."""
    visible_missing = (
        Device.objects.in_service()
        .filter(present=False, client__in=Client.objects.visible_to(user).values("pk"))
        .defer(*Device.SECRET_FIELDS)
        .select_related("client")
        .order_by("client__name", "sub_number")
    )
    return (
        Agent.objects.filter(enabled=True)
        .defer("signing_key")
        .annotate(
            present_count=Count("devices", filter=Q(devices__present=True) & in_service_q("devices__")),
            missing_count=Count("devices", filter=Q(devices__present=False) & in_service_q("devices__")),
        )
        .prefetch_related(Prefetch("devices", queryset=visible_missing, to_attr="missing_devices"))
        .order_by("name")
    )
