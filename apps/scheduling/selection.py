"""The clients and devices a batch looks at, each with its reason to be left out (the rule of
jobs/rules.py), and the plan for those that take a job (planning.py)."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch

from apps.accounts.models import FirmSettings
from apps.clients.models import Client
from apps.devices.models import Device, share_agents
from apps.filing_calendar.models import period_deadline
from apps.holds.models import active_hold_reason
from apps.jobs.models import ACTIVE_STATES, SUMMARY_KINDS, Job, JobKind
from apps.jobs.planning import plan
from apps.jobs.rules import first_kind, refusal_reason
from apps.periods.models import Period
from apps.periods.rules import PeriodStatus


@dataclass
class Candidate:
    client: Client
    device: Device | None
    period: Period  # not saved yet when the client has no row for the month
    status: PeriodStatus
    reason: str | None  # None: takes a job
    run_after: dt.datetime | None = None
    kind: str = ""  # the job it takes: the batch's, or 上传离线发票 first (then the batch's: services.py)

    @property
    def uploads_first(self) -> bool:
        return self.kind == JobKind.UPLOAD_OFFLINE


@dataclass
class Preview:
    chosen: list[Candidate]
    left_out: list[Candidate]

    @property
    def agents(self) -> int:
        return len({c.device.agent_id for c in self.chosen if c.device})


def candidates(kind: str, month: dt.date, filters: dict, now: dt.datetime) -> list[Candidate]:
    """One entry per device of each active client matching `filters` (a client without devices
    gets one entry without a device), ordered by client name and device number."""
    clients = Client.objects.filter(active=True).select_related("staff").order_by("name", "pk")
    if filters.get("staff"):
        clients = clients.filter(staff=filters["staff"])
    if filters.get("taxpayer_kind"):
        clients = clients.filter(taxpayer_kind=filters["taxpayer_kind"])
    devices = (
        Device.objects.in_service(month)
        .defer(*Device.SECRET_FIELDS)  # not needed to plan; each costs a decryption
        .order_by("sub_number")
        .annotate(
            hold_reason=active_hold_reason(),
            has_active_job=Exists(
                Job.objects.filter(
                    device=OuterRef("pk"),
                    # a 抄报 waits for the 上传离线发票 made in its place
                    kind__in=[kind, JobKind.UPLOAD_OFFLINE] if kind in SUMMARY_KINDS else [kind],
                    period__month=month,
                    state__in=ACTIVE_STATES,
                )
            ),
        )
    )
    # Every device of the client speaks for its lock; batch_devices are the ones the filters chose,
    # loaded apart only when the filters leave some out.
    chosen_devices = devices
    if filters.get("agent"):
        chosen_devices = chosen_devices.filter(agent=filters["agent"])
    if filters.get("device_kind"):
        chosen_devices = chosen_devices.filter(kind=filters["device_kind"])
    rows: list[Any]  # clients, each given its batch_devices
    if chosen_devices is devices:
        rows = list(clients.prefetch_related("invoicing_modes", Prefetch("devices", queryset=devices)))
        for client in rows:
            client.batch_devices = list(client.devices.all())
    else:
        clients = clients.filter(pk__in=chosen_devices.values("client"))
        rows = list(
            clients.prefetch_related(
                "invoicing_modes",
                Prefetch("devices", queryset=Device.objects.in_service(month).defer(*Device.SECRET_FIELDS)),
                Prefetch("devices", queryset=chosen_devices, to_attr="batch_devices"),
            )
        )
    share_agents([device for client in rows for device in client.batch_devices])
    periods = {p.client_id: p for p in Period.objects.filter(client__in=clients.values("pk"), month=month)}
    deadline = period_deadline(month).date
    tolerance = FirmSettings.current().reconciliation_tolerance
    found = []
    for client in rows:
        period = periods.get(client.pk) or Period.blank(client, month, deadline=deadline)
        period.client = client
        status = period.status(now)
        if filters.get("status") and status != filters["status"]:
            continue
        for device in client.batch_devices or [None]:
            reason = refusal_reason(
                kind,
                device,
                period,
                now,
                hold_reason=device.hold_reason if device else None,
                has_active_job=device.has_active_job if device else False,
                tolerance=tolerance,
                status=status,
                uploads_first=True,
            )
            job_kind = first_kind(kind, device) if device is not None and reason is None else kind
            found.append(Candidate(client, device, period, status, reason, kind=job_kind))
    return found


def preview(
    kind: str,
    month: dt.date,
    filters: dict,
    now: dt.datetime,
    start: dt.datetime,
    *,
    per_agent_per_minute: int,
    avoid_busy_hours: bool,
) -> Preview:
    found = candidates(kind, month, filters, now)
    chosen = [c for c in found if c.reason is None]
    times = plan(
        [c.device for c in chosen], start, per_agent_per_minute=per_agent_per_minute, avoid_busy_hours=avoid_busy_hours
    )
    for candidate, (_device, run_after) in zip(chosen, times, strict=True):
        candidate.run_after = run_after
    return Preview(chosen=chosen, left_out=[c for c in found if c.reason])
