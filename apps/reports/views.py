"""The month-end report as a page that prints, and as a workbook."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.core import clock, export
from apps.core.months import format_month
from apps.periods.models import working_month

from .forms import ReportForm
from .month_end import month_end_report


@require_safe
@login_required
def month_end(request):
    data = request.GET.copy()
    if not data.get("month"):  # the picker shows the month the report is for
        data["month"] = format_month(working_month())
    form = ReportForm(data)
    chosen = form.cleaned_data if form.is_valid() else {}
    month = chosen.get("month") or working_month()
    report = month_end_report(request.user, month, clock.now(), accountant=chosen.get("accountant"))
    if request.GET.get("export") == "xlsx":
        body = export.xlsx_bytes(report.sheets(), for_whom=str(request.user))
        return export.file_response("xlsx", f"qingka-month-end-{format_month(month)}", body)
    context = {"form": form, "report": report, "printed_at": clock.now()}
    return render(request, "reports/month_end.html", context)
