"""税控设备: one device's page, its monitoring data over time, its jobs, and the failures that
wait for a person."""

from itertools import zip_longest
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from apps.clients.models import Client
from apps.core import clock
from apps.core.permissions import can_operate_client, client_for_operation
from apps.devices.errors import error_info
from apps.devices.models import Device
from apps.devices.services import mark_deregistered
from apps.jobs import requesting
from apps.jobs.models import Job, JobKind, JobState
from apps.periods.display import decorate_device

HISTORY = 100
JOBS = 50
# The monitoring fields the history shows, in this order (domain.md).
READING_FIELDS = ("kpjzsj", "zxbsrq", "scjzrq", "lxkpsc", "lxkpzs", "lxzssyje", "dzkpxe", "syrl")


def unresolved_failures(device: Device):
    """Failed jobs of the device (retries spent, or an error no retry can help) that no later
    successful job of the same kind and period has made good: each waits for a person."""
    later_success = Job.objects.filter(
        device=device,
        kind=OuterRef("kind"),
        period=OuterRef("period"),
        state=JobState.SUCCEEDED,
        created_at__gt=OuterRef("created_at"),
    )
    return (
        Job.objects.filter(device=device, state=JobState.FAILED)
        .exclude(Exists(later_success))
        .select_related("period", "requested_by")
    )


def history(device: Device) -> list:
    """The last readings, newest first, each with the fields that changed since the one before."""
    readings: list[Any] = list(device.readings.all()[: HISTORY + 1])  # each given its cells to show
    for reading, older in zip_longest(readings, readings[1:]):
        reading.cells = [
            (
                reading.monitoring.get(name),
                older is not None and older.monitoring.get(name) != reading.monitoring.get(name),
            )
            for name in READING_FIELDS
        ]
        types = reading.monitoring.get("invoice_types") or {}
        reading.type_states = ", ".join(f"{code}:{(types[code] or {}).get('state', '?')}" for code in sorted(types))
    return readings[:HISTORY]


@require_safe
@login_required
def detail(request, pk):
    device = get_object_or_404(
        Device.objects.filter(client__in=Client.objects.visible_to(request.user)).select_related("client", "agent"),
        pk=pk,
    )
    decorate_device(device, clock.today())
    jobs = list(device.jobs.select_related("period", "requested_by")[:JOBS])
    failures = list(unresolved_failures(device))
    for job in [*jobs, *failures]:
        job.error = error_info(job.error_code) if job.error_code else None
    return render(
        request,
        "devices/detail.html",
        {
            "device": device,
            "devices": [device],
            "readings": history(device),
            "jobs": jobs,
            "failures": failures,
            "can_operate": can_operate_client(request.user, device.client),
        },
    )


@login_required
@require_POST
def power_cycle(request, pk):
    """重新上电: a job like any other (the same rule, queue and audit), that has the agent restart the
    device's port through its cabinet or its hub, then read the device. 管理员 and the client's 会计."""
    device = get_object_or_404(Device.objects.select_related("client", "agent"), pk=pk)
    client_for_operation(request.user, device.client)
    try:
        requesting.request_job(JobKind.POWER_CYCLE, device, user=request.user, request=request)
    except requesting.Refused as exc:
        messages.error(request, _("未能重新上电：%(reason)s") % {"reason": exc.reason})
    else:
        messages.success(request, _("已发起重新上电：前置机将重启该设备的 USB 端口，然后读取设备状态"))
    return redirect("devices:detail", device.pk)


@login_required
@require_POST
def deregistered(request, pk):
    """已注销: a person cancelled at the bureau a device the client no longer uses (its client went 数电):
    its reminder in 需要处理 goes away. 管理员 and the client's 会计; audited."""
    device = get_object_or_404(Device.objects.select_related("client"), pk=pk)
    client_for_operation(request.user, device.client)
    if mark_deregistered(device, user=request.user, request=request):
        messages.success(request, _("已标记 %(device)s 在税务机关注销") % {"device": device})
    else:
        messages.error(request, _("只能标记已停用（转为数电）且尚未注销的设备"))
    if request.POST.get("back") == "attention":
        return redirect("attention:list")
    return redirect("devices:detail", device.pk)
