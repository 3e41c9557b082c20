"""发票查询 jobs asked by a person: read the invoices of a month, or one invoice, from the devices.

One invoice is asked of the devices likely to hold it first: the devices of the client named in
the search, then the devices that issued invoices under that code before (the nearest number
first: a code's numbers come to a device in runs). The rest of the devices the person may run jobs
on are asked only when the person asks again. Every job goes through requesting.request_jobs and
its rules. A look-up's progress is one line over the jobs of that query since it was asked."""

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.db.models import DecimalField, F, Max, Min, Q, Value
from django.db.models.functions import Abs, Cast

from apps.core.permissions import can_operate_client
from apps.jobs import requesting
from apps.jobs.models import ACTIVE_STATES, FINISHED_STATES, Job, JobKind, JobState

from .lookup import devices_in_scope
from .models import Invoice

LIKELY = "likely"
REST = "rest"


def _operable(user, devices) -> list:
    return [device for device in devices.select_related("agent", "client") if can_operate_client(user, device.client)]


def operable_devices(user) -> list:
    """Every device in service `user` may run jobs on."""
    return _operable(user, devices_in_scope(user))


def request_queries(user, client, query: dict[str, str], request=None):
    """One query job per device of `client` (or of every client) that `user` may run jobs on;
    returns (jobs, [(device, reason), …]) as requesting.request_jobs does."""
    devices = _operable(user, devices_in_scope(user, client).order_by("client__name", "number"))
    return requesting.request_jobs(JobKind.QUERY_INVOICES, devices, query=query, user=user, request=request)


def likely_devices(user, client, code: str, number: str) -> list:
    """The devices to ask first for the invoice `code` `number`, in the order asked: `client`'s
    devices (by number), then those that issued `code` before, the nearest number issued first
    (then the latest issued). Only devices `user` may run jobs on."""
    scope = devices_in_scope(user)
    named = _operable(user, scope.filter(client=client).order_by("number")) if client else []
    issued = []
    if code:
        nearest = (
            Invoice.objects.visible_to(user)
            .filter(code=code, device__in=scope)
            .exclude(device__in=[d.pk for d in named])
            .annotate(n=Cast("number", DecimalField(max_digits=20, decimal_places=0)))
            .values("device_id")
            .annotate(
                gap=Min(Abs(F("n") - Value(int(number), output_field=DecimalField(max_digits=20, decimal_places=0)))),
                last=Max("issued_at"),
            )
            .order_by("gap", "-last", "device_id")
            .values_list("device_id", flat=True)
        )
        order = list(nearest)
        by_pk = {d.pk: d for d in _operable(user, scope.filter(pk__in=order))}
        issued = [by_pk[pk] for pk in order if pk in by_pk]
    return named + issued


def asked_devices(user, query: dict[str, str], since: dt.datetime) -> set[int]:
    return set(_jobs(user, query, since).values_list("device_id", flat=True))


def rest_devices(user, query: dict[str, str], since: dt.datetime) -> list:
    """Every device `user` may run jobs on that this look-up has not asked yet."""
    asked = asked_devices(user, query, since)
    devices = devices_in_scope(user).exclude(pk__in=asked).order_by("client__name", "number")
    return _operable(user, devices)


def request_invoice(user, client, code: str, number: str, which: str, since: dt.datetime, request=None):
    """发票查询 jobs for one invoice: on the likely devices, or on the rest (see the module)."""
    query = {"code": code, "number": number}
    if which == LIKELY:
        asked = asked_devices(user, query, since)
        devices = [d for d in likely_devices(user, client, code, number) if d.pk not in asked]
    else:
        devices = rest_devices(user, query, since)
    return requesting.request_jobs(JobKind.QUERY_INVOICES, devices, query=query, user=user, request=request)


def _jobs(user, query: dict[str, str], since: dt.datetime):
    """This look-up's jobs: of this query, made since it was asked, or still under way."""
    return Job.objects.visible_to(user).filter(
        Q(created_at__gte=since) | Q(state__in=ACTIVE_STATES), kind=JobKind.QUERY_INVOICES, query=query
    )


@dataclass
class Progress:
    query: dict[str, str]
    total: int  # devices asked
    finished: int
    failed: int
    found: int | None  # invoices found, for a one-invoice query
    rest: int  # devices the person may still ask

    @property
    def running(self) -> bool:
        return self.finished < self.total


def progress(user, query: dict[str, str], since: dt.datetime) -> Progress:
    counts = Counter(_jobs(user, query, since).values_list("state", flat=True))
    found = None
    if query.get("number"):
        invoices = Invoice.objects.visible_to(user).filter(number=query["number"])
        found = invoices.filter(code=query["code"]).count() if query.get("code") else invoices.count()
    rest = len(rest_devices(user, query, since)) if found == 0 else 0
    return Progress(
        query=query,
        total=sum(counts.values()),
        finished=sum(counts[state] for state in FINISHED_STATES),
        failed=counts[JobState.FAILED],
        found=found,
        rest=rest,
    )


def skipped_lines(skipped) -> list[tuple[int, str]]:
    """The devices left out, one line per reason: (how many, reason), the most frequent first."""
    counts = Counter(str(reason) for _device, reason in skipped)
    return sorted(((n, reason) for reason, n in counts.items()), key=lambda line: (-line[0], line[1]))
