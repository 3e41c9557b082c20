"""客户: the list of the clients a user may see (exported as shown); one client's page with its
identity, devices, 24 months, jobs and audit events, and the actions staff take on it, each
confirmed and audited; and the import of clients and devices from the firm's sheet (管理员)."""

import uuid

import django_filters
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.accounts.models import User
from apps.accounts.permissions import can_operate_client, client_for_operation, require_firm_admin
from apps.audit.display import action_label
from apps.core import clock, export
from apps.core.fields import fernet
from apps.core.filters import DateInput, page_of
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

from . import importing
from .display import decorate_device, timeline
from .models import Client, FilingFrequency, TaxpayerKind

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


# --- 客户列表 -----------------------------------------------------------------------------------


class ClientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("客户名称或纳税人识别号"))
    staff = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(role=User.Role.ACCOUNTANT).order_by("username"),
        label=gettext_lazy("负责会计"),
        empty_label=gettext_lazy("全部"),
    )
    taxpayer_kind = django_filters.ChoiceFilter(
        choices=TaxpayerKind.choices, label=gettext_lazy("纳税人类型"), empty_label=gettext_lazy("全部")
    )
    active = django_filters.ChoiceFilter(
        choices=[("1", gettext_lazy("服务中")), ("0", gettext_lazy("已停止服务"))],
        method="filter_active",
        label=gettext_lazy("服务状态"),
        empty_label=gettext_lazy("全部"),
    )

    class Meta:
        model = Client
        fields = []

    def filter_q(self, clients, name, value):
        value = (value or "").strip()
        if not value:
            return clients
        return clients.filter(Q(name__icontains=value) | Q(taxpayer_id__icontains=value.upper()))

    def filter_active(self, clients, name, value):
        return clients.filter(active=value == "1")


def listed_clients(user, month, today):
    """The clients `user` may see, with their device count and the status code of their period of
    `month` (None where the period has no row yet)."""
    period = Period.objects.with_status(today).filter(client=OuterRef("pk"), month=month)
    return (
        Client.objects.visible_to(user)
        .select_related("staff")
        .annotate(device_count=Count("devices"), status_code=Subquery(period.values("status_code")[:1]))
        .order_by("name", "pk")
    )


def _status(client):
    return PeriodStatus(client.status_code) if client.status_code else None


def client_row(client) -> list:
    status = _status(client)
    return [
        client.name,
        client.taxpayer_id,
        client.get_taxpayer_kind_display(),
        FilingFrequency(client.filing_frequency).label,
        client.staff or "",
        client.active,
        client.device_count,
        status.label if status else "",
        client.contact_name,
        client.contact_phone,
    ]


CLIENT_EXPORT = export.Table(
    "qingka-clients",
    gettext_lazy("客户"),
    [
        gettext_lazy("客户名称"),
        gettext_lazy("纳税人识别号"),
        gettext_lazy("纳税人类型"),
        gettext_lazy("申报周期"),
        gettext_lazy("负责会计"),
        gettext_lazy("服务中"),
        gettext_lazy("设备数"),
        gettext_lazy("本期状态"),
        gettext_lazy("联系人"),
        gettext_lazy("联系电话"),
    ],
    client_row,
)


@require_safe
@login_required
def client_list(request):
    today = clock.today()
    month = working_month(today)
    filters = ClientFilter(request.GET, queryset=listed_clients(request.user, month, today))
    if response := CLIENT_EXPORT.respond(request, filters.qs):
        return response
    page = page_of(request, filters.qs)
    for client in page:
        client.status = _status(client)
    return render(request, "clients/list.html", {"filter": filters, "page": page, "month": month})


# --- 导入客户与设备 (管理员) ------------------------------------------------------------------------

IMPORT_SESSION_KEY = "clients.import"


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("客户与设备表（.xlsx 或 .csv）"),
        error_messages={"required": gettext_lazy("请选择要上传的文件")},
    )


def _preview_context(result: importing.Plan, file_name: str) -> dict:
    return {
        "plan": result,
        "file_name": file_name,
        "created": result.of("created"),
        "updated": result.of("updated"),
        "unchanged": result.of("unchanged"),
    }


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def import_page(request):
    """GET: the upload form and the template. POST: the preview of what the file would do; the
    file is kept (encrypted, it may hold passwords) in the session for the confirmation only
    when every row is good."""
    require_firm_admin(request.user)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    context = {"form": form, "columns": importing.COLUMNS}
    if request.method == "POST":
        request.session.pop(IMPORT_SESSION_KEY, None)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(importing.LIMITS.max_bytes + 1)
            result = importing.plan(upload.name, data)
            context.update(_preview_context(result, upload.name))
            if not result.problems and result.to_write:
                token = uuid.uuid4().hex
                request.session[IMPORT_SESSION_KEY] = {
                    "token": token,
                    "name": upload.name,
                    "data": fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(data).decode(),
                    "digest": result.digest(),
                }
                context["token"] = token
    return render(request, "clients/import.html", context)


@require_POST
@login_required
def import_confirm(request):
    """Writes what the preview showed, all of it or nothing."""
    require_firm_admin(request.user)
    kept = request.session.pop(IMPORT_SESSION_KEY, None)
    if not kept or kept["token"] != request.POST.get("token"):
        messages.error(request, _("预览已失效或已提交过，请重新上传文件"))
        return redirect("clients:import")
    data = fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(kept["data"].encode())
    try:
        result = importing.write(kept["name"], data, user=request.user, request=request, expected_digest=kept["digest"])
    except importing.PlanChanged:
        messages.error(request, _("预览之后数据已有变化，未导入任何内容：请核对下面新的预览后重新上传"))
        result = importing.plan(kept["name"], data)
        return render(
            request,
            "clients/import.html",
            {"form": ImportForm(), "columns": importing.COLUMNS, **_preview_context(result, kept["name"])},
        )
    if result.problems:
        messages.error(request, _("文件中有错误，未导入任何内容"))
        return render(
            request,
            "clients/import.html",
            {"form": ImportForm(), "columns": importing.COLUMNS, **_preview_context(result, kept["name"])},
        )
    messages.success(
        request,
        _("已从文件“%(name)s”导入：新建 %(created)d 项，修改 %(updated)d 项，未变 %(unchanged)d 项")
        % {
            "name": kept["name"],
            "created": len(result.of("created")),
            "updated": len(result.of("updated")),
            "unchanged": len(result.of("unchanged")),
        },
    )
    return redirect("clients:list")


@require_safe
@login_required
def import_template(request, fmt):
    require_firm_admin(request.user)
    if fmt not in export.FORMATS:
        raise Http404
    return export.file_response(fmt, importing.TEMPLATE_NAME, importing.template_bytes(fmt))
