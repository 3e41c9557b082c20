import datetime as dt
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from apps.core import clock, export
from apps.core.filters import page_of
from apps.core.forms import report_errors
from apps.core.months import format_month
from apps.core.permissions import can_record_returns

from .forms import SearchForm, SyncForm
from .lookup import Found, explain, found, search
from .sync import LIKELY, likely_devices, operable_devices, progress, request_invoice, request_queries, skipped_lines

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
            if criteria.number and context["can_sync"]:
                likely = likely_devices(request.user, criteria.client, criteria.code, criteria.number)
                context.update(likely_count=len(likely), all_count=len(operable_devices(request.user)))
    sync_form = SyncForm(request.GET, user=request.user) if "asked" in request.GET else None
    if sync_form is not None and sync_form.is_valid() and sync_form.cleaned_data["asked"] is not None:
        context.update(_progress_context(request, sync_form))
    return render(request, "invoices/lookup.html", context)


def _since(asked: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(asked, tz=dt.UTC)


def _progress_context(request, form: SyncForm) -> dict:
    """The one progress line of a look-up's 发票查询 jobs, with where it polls and leads."""
    data = form.cleaned_data
    query = form.query()
    params = {**query, "client": data["client"].pk if data["client"] else "", "asked": data["asked"]}
    lookup_params = {k: v for k, v in params.items() if k != "month"} if "number" in query else params
    return {
        "progress": progress(request.user, query, _since(data["asked"])),
        "progress_url": f"{reverse('invoices:progress')}?{urlencode(params)}",
        "progress_back": f"{reverse('invoices:lookup')}?{urlencode(lookup_params)}",
        "progress_client": params["client"],
        "can_sync": can_record_returns(request.user),
    }


@require_safe
@login_required
def sync_progress(request):
    """The progress line alone, for htmx to poll while the jobs run."""
    form = SyncForm(request.GET, user=request.user)
    if not form.is_valid() or form.cleaned_data["asked"] is None:
        raise Http404
    return render(request, "invoices/_progress.html", _progress_context(request, form))


def _with_asked(url: str, asked: int, month: str | None) -> str:
    """`url` with the look-up's start (and the month read) in its query, to show its progress."""
    parts = urlsplit(url)
    params = QueryDict(parts.query, mutable=True)
    params["asked"] = str(asked)
    if month:
        params["month"] = month
    return urlunsplit(parts._replace(query=params.urlencode()))


@require_POST
@login_required
def sync(request):
    """发票查询 jobs now, on the devices of the scope the person may run jobs on."""
    if not can_record_returns(request.user):
        raise PermissionDenied
    form = SyncForm(request.POST, user=request.user)
    back = request.POST.get("back", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("invoices:lookup")
    if not form.is_valid():
        report_errors(request, form)
        return redirect(back)
    data, query = form.cleaned_data, form.query()
    asked = data["asked"] if data["asked"] is not None else int(clock.now().timestamp())
    if "number" in query:
        jobs, skipped = request_invoice(
            request.user,
            data["client"],
            data["code"],
            data["number"],
            data["devices"] or LIKELY,
            _since(asked),
            request,
        )
    else:
        jobs, skipped = request_queries(request.user, data["client"], query, request)
    if jobs:
        messages.success(request, _("已向 %(n)d 台设备发起发票查询") % {"n": len(jobs)})
    for n, reason in skipped_lines(skipped):
        messages.warning(request, _("%(n)d 台设备未发起：%(reason)s") % {"n": n, "reason": reason})
    if not jobs and not skipped:
        messages.warning(request, _("没有可以查询的设备"))
    return redirect(_with_asked(back, asked, query.get("month")))
