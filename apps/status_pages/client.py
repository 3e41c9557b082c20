"""客户详情: identity, devices with their monitoring data, 24 months, jobs and audit events; and
the actions staff take on one client, each confirmed and audited."""

from typing import Any

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

from apps.accounts.models import FirmSettings
from apps.audit.display import action_label
from apps.autopilot.models import Exclusion
from apps.clients.models import Client
from apps.core import clock
from apps.core.filters import DateInput
from apps.core.forms import MONTH_ERROR
from apps.core.months import add_months, format_month, month_start, parse_month
from apps.core.permissions import can_operate_client, client_for_operation
from apps.devices.errors import error_info
from apps.filing_calendar.models import is_provisional
from apps.holds.models import Hold
from apps.jobs import requesting
from apps.jobs.models import Job, JobKind
from apps.jobs.rules import filed_before_summary, period_reason
from apps.periods.display import action_period, decorate_device, timeline
from apps.periods.models import Period, working_month
from apps.periods.rules import REMEDIES, PeriodStatus
from apps.periods.services import confirm_reconciliation, record_return_filed
from apps.sharing.models import DAYS_CHOICES, DEFAULT_DAYS

HISTORY = 50


@login_required
def detail(request, pk):
    client = get_object_or_404(Client.objects.visible_to(request.user).select_related("staff"), pk=pk)
    now, today = clock.now(), clock.today()
    month = working_month(today)
    devices = [decorate_device(d, today) for d in client.devices.select_related("agent").order_by("sub_number")]
    holds = {hold.device_id: hold for hold in Hold.objects.active().filter(device__client=client)}
    for device in devices:
        device.active_hold = holds.get(device.pk)
    jobs: list[Any] = list(
        Job.objects.filter(device__client=client).select_related("device", "period", "requested_by")[:HISTORY]
    )
    for job in jobs:
        job.error = error_info(job.error_code) if job.error_code else None
    events = list(client.audit_events.order_by("-created_at", "-id")[:HISTORY])
    for event in events:
        event.label = action_label(event.action)
    acting = action_period(client, month, now)
    acting_status = acting.status(now)
    tolerance = FirmSettings.current().reconciliation_tolerance
    can_operate = can_operate_client(request.user, client)
    return render(
        request,
        "clients/detail.html",
        {
            "client": client,
            "devices": devices,
            "jobs": jobs,
            "events": events,
            "timeline": timeline(client, month, now),
            "acting": acting,
            "acting_status": acting_status,
            "acting_remedy": REMEDIES.get(acting_status),
            "acting_late": acting.lateness(today).any,
            "acting_lock_estimated": acting.lock_is_estimate(now),
            "acting_deadline_provisional": is_provisional(acting.month, acting.deadline),
            "reconciliation": acting.reconciliation(tolerance),
            "filed_before_summary": None if acting_status == PeriodStatus.DONE else filed_before_summary(acting),
            "is_straggler": acting.month != month,
            "can_operate": can_operate,
            "share_days": DAYS_CHOICES,
            "default_share_days": DEFAULT_DAYS,
            "autopilot_exclusion": Exclusion.objects.filter(client=client).first(),
            "share_links": list(client.share_links.select_related("created_by")[:20]) if can_operate else [],
            "now": now,
        },
    )


@login_required
@require_POST
def confirm_difference(request, pk):
    """已核对，仍然清卡: the difference between the return and the invoices is explained."""
    client = _operable(request, pk)
    try:
        month = parse_month(request.POST.get("month", ""))
    except ValueError:
        messages.error(request, MONTH_ERROR)
        return redirect("clients:detail", client.pk)
    period = get_object_or_404(Period, client=client, month=month)
    confirm_reconciliation(period, user=request.user, request=request)
    messages.success(request, _("已确认 %(month)s 的票表比对差异，可以清卡") % {"month": format_month(month)})
    return redirect("clients:detail", client.pk)


def _operable(request, pk) -> Client:
    return client_for_operation(request.user, get_object_or_404(Client.objects.select_related("staff"), pk=pk))


def _request(request, client, kind, period=None):
    devices = list(client.devices.select_related("agent").order_by("sub_number"))
    if not devices:
        messages.error(request, _("该客户没有登记税控设备"))
        return
    jobs, skipped = requesting.request_jobs(kind, devices, period=period, user=request.user, request=request)
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


def _period_job(request, pk, kind):
    """抄报 or 清卡 now, for the period the page acts on: refused, with the reason, unless the
    period is ready for it (the same rule as the bulk preview)."""
    client = _operable(request, pk)
    now = clock.now()
    period = action_period(client, working_month(clock.today()), now)
    reason = period_reason(kind, period, now)
    if reason:
        messages.error(request, f"{format_month(period.month)}：{reason}")
    else:
        if period.pk is None:
            period = Period.for_client(client, period.month)
        _request(request, client, kind, period)
    return redirect("clients:detail", client.pk)


@login_required
@require_POST
def upload_summary(request, pk):
    return _period_job(request, pk, JobKind.UPLOAD_SUMMARY)


@login_required
@require_POST
def clear(request, pk):
    return _period_job(request, pk, JobKind.CLEAR)


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
        month = self.fields["month"]
        assert isinstance(month, forms.ChoiceField)
        month.choices = [(format_month(m), date_format(m, "YEAR_MONTH_FORMAT")) for m in month_choices]


@login_required
def record_return(request, pk):
    """Records this client's VAT return as filed; on any error nothing is written."""
    client = _operable(request, pk)
    today = clock.today()
    latest = add_months(month_start(today), -1)  # the latest month that has ended: its return can be filed
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
