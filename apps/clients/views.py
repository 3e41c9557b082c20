"""客户详情: identity, devices with their monitoring data, 24 months, jobs and audit events; and
the actions staff take on one client, each confirmed and audited."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.permissions import can_operate_client, client_for_operation
from apps.audit.display import action_label
from apps.core import clock
from apps.core.filters import DateInput
from apps.core.months import add_months, format_month, parse_month
from apps.dashboard.queries import missing_period_status
from apps.filing_calendar.models import deadline_for
from apps.jobs import pipeline
from apps.jobs.errors import error_info
from apps.jobs.models import Job, JobKind
from apps.periods.models import Period
from apps.periods.rules import READY_TO_CLEAR, PeriodStatus, working_month
from apps.periods.services import record_return_filed
from apps.sharing.views import ShareLinkForm

from .display import decorate_device, timeline
from .models import Client

HISTORY = 50


@login_required
def detail(request, pk):
    client = get_object_or_404(Client.objects.visible_to(request.user).select_related("staff"), pk=pk)
    today = clock.today()
    month = working_month(today)
    devices = [decorate_device(d, today) for d in client.devices.select_related("agent").order_by("sub_number")]
    jobs = list(Job.objects.filter(device__client=client).select_related("device", "period", "requested_by")[:HISTORY])
    for job in jobs:
        job.error = error_info(job.error_code) if job.error_code else None
    events = list(client.audit_events.order_by("-created_at", "-id")[:HISTORY])
    for event in events:
        event.label = action_label(event.action)
    months = timeline(client, month, today)
    can_operate = can_operate_client(request.user, client)
    return render(
        request,
        "clients/detail.html",
        {
            "client": client,
            "devices": devices,
            "jobs": jobs,
            "events": events,
            "timeline": months,
            "working": months[0],
            "working_status": months[0].status or missing_period_status(deadline_for(add_months(month, 1)).date, today),
            "can_operate": can_operate,
            "share_form": ShareLinkForm(),
            "share_links": list(client.share_links.select_related("created_by")[:20]) if can_operate else [],
            "now": clock.now(),
        },
    )


def _operable(request, pk) -> Client:
    return client_for_operation(request.user, get_object_or_404(Client.objects.select_related("staff"), pk=pk))


def _request(request, client, kind, period=None):
    devices = list(client.devices.select_related("agent").order_by("sub_number"))
    if not devices:
        messages.error(request, _("该客户没有登记税控设备"))
        return
    jobs, skipped = pipeline.request_jobs(kind, devices, period=period, user=request.user, request=request)
    if jobs:
        messages.success(request, _("已发起 %(n)d 个“%(kind)s”任务") % {"n": len(jobs), "kind": JobKind(kind).label})
    for device, reason in skipped:
        messages.warning(request, _("%(device)s 未发起：%(reason)s") % {"device": device, "reason": reason})


@login_required
@require_POST
def read_status(request, pk):
    client = _operable(request, pk)
    _request(request, client, JobKind.READ_STATUS)
    return redirect("clients:detail", client.pk)


@login_required
@require_POST
def upload_summary(request, pk):
    """抄报 now, for the working period."""
    client = _operable(request, pk)
    period = Period.for_client(client, working_month(clock.today()))
    if period.status() == PeriodStatus.DONE:
        messages.warning(request, _("%(month)s 已完成，无需抄报") % {"month": format_month(period.month)})
    else:
        _request(request, client, JobKind.UPLOAD_SUMMARY, period)
    return redirect("clients:detail", client.pk)


@login_required
@require_POST
def clear(request, pk):
    """清卡 now, for the working period: only once it is ready (抄报 done, return filed if due)."""
    client = _operable(request, pk)
    period = Period.for_client(client, working_month(clock.today()))
    status = period.status()
    if status not in READY_TO_CLEAR:
        messages.error(
            request,
            _("%(month)s 当前状态为“%(status)s”，不能清卡")
            % {"month": format_month(period.month), "status": status.label},
        )
    else:
        _request(request, client, JobKind.CLEAR, period)
    return redirect("clients:detail", client.pk)


class ReturnFiledForm(forms.Form):
    month = forms.ChoiceField(label=gettext_lazy("所属月份"))
    filed_on = forms.DateField(
        label=gettext_lazy("申报日期"),
        widget=DateInput(),
        error_messages={"required": gettext_lazy("请填写申报日期"), "invalid": gettext_lazy("请输入有效的日期")},
    )
    declared_sales = forms.DecimalField(
        label=gettext_lazy("申报销售额（元）"), max_digits=16, decimal_places=2, required=False
    )
    declared_tax = forms.DecimalField(
        label=gettext_lazy("申报税额（元）"), max_digits=16, decimal_places=2, required=False
    )

    def __init__(self, *args, month_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = [(format_month(m), date_format(m, "YEAR_MONTH_FORMAT")) for m in month_choices]


@login_required
def record_return(request, pk):
    """Records this client's VAT return as filed; on any error nothing is written."""
    client = _operable(request, pk)
    today = clock.today()
    latest = working_month(today)
    choices = [add_months(latest, -n) for n in range(12)]
    initial = {"month": format_month(latest), "filed_on": today}
    form = ReturnFiledForm(request.POST or None, initial=initial, month_choices=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        month = parse_month(data["month"])
        try:
            with transaction.atomic():  # a new period row goes too when the return is refused
                period = Period.for_client(client, month)
                record_return_filed(
                    period,
                    data["filed_on"],
                    data["declared_sales"],
                    data["declared_tax"],
                    user=request.user,
                    request=request,
                )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已记录 %(month)s 的增值税申报") % {"month": data["month"]})
            return redirect("clients:detail", client.pk)
    return render(request, "clients/record_return.html", {"client": client, "form": form})
