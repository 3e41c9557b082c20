"""任务: the jobs the user may see, filtered, paged and exported; one job with its history."""

from typing import Any

import django_filters
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from apps.audit.display import action_label
from apps.audit.models import AuditEvent
from apps.core import export
from apps.core.filters import ClientSearchFilter, DateRangeForm, date_range, page_of
from apps.core.forms import MonthField
from apps.core.months import format_month
from apps.core.permissions import client_for_operation
from apps.devices.errors import ERRORS, error_info
from apps.devices.models import Agent

from . import requesting
from .models import Job, JobKind, JobState, Origin


class MonthFilter(django_filters.Filter):
    field_class = MonthField


class JobFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=JobState.choices, label=_("状态"), empty_label=_("全部"))
    kind = django_filters.ChoiceFilter(choices=JobKind.choices, label=_("任务类型"), empty_label=_("全部"))
    origin = django_filters.ChoiceFilter(choices=Origin.choices, label=_("来源"), empty_label=_("全部"))
    client = ClientSearchFilter(field_name="device__client")
    agent = django_filters.ModelChoiceFilter(
        field_name="device__agent", queryset=Agent.objects.all(), label=_("前置机"), empty_label=_("全部")
    )
    error_code = django_filters.ChoiceFilter(
        choices=[(code, info.message) for code, info in ERRORS.items()],
        label=_("错误"),
        empty_label=_("全部"),
    )
    month = MonthFilter(field_name="period__month", label=_("所属月份"))
    date_from, date_to = date_range("created_at")

    class Meta:
        model = Job
        fields: list[str] = []
        form = DateRangeForm


def visible_jobs(user):
    return Job.objects.visible_to(user).select_related(
        "device__client",
        "device__agent",
        "period",
        "requested_by",
    )


HEADERS = [
    _("任务编号"),
    _("任务类型"),
    _("客户"),
    _("纳税人识别号"),
    _("设备编号"),
    _("模拟设备"),
    _("所属月份"),
    _("状态"),
    _("已尝试次数"),
    _("错误代码"),
    _("错误信息"),
    _("处理建议"),
    _("设备返回信息"),
    _("发起人"),
    _("创建时间"),
    _("结束时间"),
]


def export_row(job: Job) -> list:
    info = error_info(job.error_code) if job.error_code else None
    return [
        job.pk,
        job.get_kind_display(),
        job.device.client.name,
        job.device.client.taxpayer_id,
        job.device.number,
        job.device.simulated,
        format_month(job.period.month) if job.period else "",
        job.get_state_display(),
        job.attempts,
        job.error_code,
        info.message if info else "",
        info.remedy if info else "",
        job.error_message,
        job.requested_by or "",
        job.created_at,
        job.finished_at,
    ]


EXPORT = export.Table("qingka-jobs", _("任务"), HEADERS, export_row)


@require_safe
@login_required
def job_list(request):
    filters = JobFilter(request.GET, queryset=visible_jobs(request.user))
    if response := EXPORT.respond(request, filters.qs):
        return response
    page = page_of(request, filters.qs)
    for job in page:
        job.error = error_info(job.error_code) if job.error_code else None
    return render(request, "jobs/list.html", {"filter": filters, "page": page})


@require_safe
@login_required
def job_detail(request, pk):
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    job.error = error_info(job.error_code) if job.error_code else None
    events: list[Any] = list(  # each given its label
        AuditEvent.objects.filter(object_type=Job._meta.label_lower, object_id=str(job.pk)).order_by("created_at", "id")
    )
    for event in events:
        event.label = action_label(event.action)
    return render(request, "jobs/detail.html", {"job": job, "events": events})


@require_POST
@login_required
def retry(request, pk):
    """A person retries a failed job from a page: the same rule as the API and the batch page."""
    job = get_object_or_404(visible_jobs(request.user), pk=pk)
    client_for_operation(request.user, job.device.client)
    try:
        requesting.retry(job, user=request.user, request=request)
    except requesting.Refused as refusal:
        messages.error(request, _("未重试：%(reason)s") % {"reason": refusal.reason})
    else:
        messages.success(request, _("已重试任务 #%(id)d") % {"id": job.pk})
    return redirect("attention:list") if request.POST.get("back") == "attention" else redirect("jobs:detail", job.pk)
