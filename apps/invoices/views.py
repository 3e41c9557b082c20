from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from apps.accounts.permissions import can_record_returns
from apps.core import clock, export
from apps.core.filters import page_of
from apps.core.forms import report_errors
from apps.core.months import format_month

from .forms import SearchForm, SyncForm
from .lookup import Found, explain, found, search
from .sync import request_queries

HEADERS = [
    gettext_lazy("发票代码"),
    gettext_lazy("发票号码"),
    gettext_lazy("发票种类"),
    gettext_lazy("开票时间"),
    gettext_lazy("金额"),
    gettext_lazy("税额"),
    gettext_lazy("价税合计"),
    gettext_lazy("购买方"),
    gettext_lazy("客户"),
    gettext_lazy("纳税人识别号"),
    gettext_lazy("开票设备"),
    gettext_lazy("申报期"),
    gettext_lazy("上传情况"),
    gettext_lazy("上报任务"),
    gettext_lazy("最近上报"),
]


def export_row(row: Found) -> list:
    invoice = row.invoice
    return [
        invoice.code,
        invoice.number,
        invoice.kind,
        invoice.issued_at,
        invoice.amount,
        invoice.tax,
        invoice.amount + invoice.tax,
        invoice.buyer,
        invoice.device.client.name,
        invoice.device.client.taxpayer_id,
        invoice.device.number,
        format_month(row.month),
        row.upload,
        invoice.reported_by_id or "",
        invoice.reported_at,
    ]


EXPORT = export.Table("qingka-invoices", gettext_lazy("发票查询"), HEADERS, export_row)


@require_safe
@login_required
def lookup(request):
    """Search what the devices reported; on a miss, the reasons the site's data points at."""
    form = SearchForm(request.GET or None, user=request.user)
    context = {"form": form, "can_sync": can_record_returns(request.user)}
    if form.is_bound and form.is_valid():
        criteria = form.criteria()
        invoices = search(request.user, criteria)
        if response := EXPORT.respond(request, found(invoices)):
            return response
        page = page_of(request, invoices)
        context.update(page=page, rows=found(page), criteria=criteria, months=criteria.months(clock.today()))
        if not page.paginator.count:
            context["reasons"] = explain(request.user, criteria, clock.now())
    return render(request, "invoices/lookup.html", context)


@require_POST
@login_required
def sync(request):
    """发票查询 jobs now, on the devices of the scope the person may run jobs on."""
    if not can_record_returns(request.user):
        raise PermissionDenied
    form = SyncForm(request.POST, user=request.user)
    if form.is_valid():
        jobs, skipped = request_queries(request.user, form.cleaned_data["client"], form.query(), request)
        if jobs:
            messages.success(request, _("已向 %(n)d 台设备发起发票查询，完成后再次查询即可") % {"n": len(jobs)})
        for device, reason in skipped:
            messages.warning(request, _("%(device)s 未发起：%(reason)s") % {"device": device, "reason": reason})
        if not jobs and not skipped:
            messages.warning(request, _("没有可以查询的设备"))
    else:
        report_errors(request, form)
    back = request.POST.get("back", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("invoices:lookup")
