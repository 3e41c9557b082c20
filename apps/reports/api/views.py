"""GET /api/v1/reports/month-end/?month=YYYY-MM&format=json|xlsx&accountant=<id>"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from apps.core import clock, export
from apps.core.api_errors import form_errors
from apps.core.months import format_month
from apps.periods.models import working_month

from ..forms import ReportForm
from ..month_end import month_end_report


class XlsxRenderer(BaseRenderer):
    media_type = export.CONTENT_TYPES["xlsx"]
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else b""


ReportRows = inline_serializer(
    "MonthEndRow",
    {
        "client": serializers.CharField(),
        "taxpayer_id": serializers.CharField(),
        "accountant": serializers.CharField(),
        "status": serializers.CharField(),
        "deadline": serializers.DateField(),
        "summary_on": serializers.DateField(allow_null=True),
        "filed_on": serializers.DateField(allow_null=True),
        "cleared_on": serializers.DateField(allow_null=True),
        "late": serializers.ListField(child=serializers.CharField(), help_text="steps done late or undone"),
        "last_job": serializers.CharField(),
        "error": serializers.CharField(),
        "remedy": serializers.CharField(),
    },
    many=True,
)


@extend_schema(
    tags=["reports"],
    parameters=[
        OpenApiParameter("month", str, description="YYYY-MM; the working period when left out"),
        OpenApiParameter("accountant", int, description="one 会计's clients"),
        OpenApiParameter("format", str, enum=["json", "xlsx"]),
    ],
    responses={
        (200, XlsxRenderer.media_type): OpenApiTypes.BINARY,
        (200, "application/json"): inline_serializer(
            "MonthEndReport",
            {
                "month": serializers.CharField(help_text="YYYY-MM"),
                "clients": serializers.IntegerField(),
                "statuses": serializers.DictField(child=serializers.IntegerField()),
                "late": serializers.IntegerField(),
                "by_accountant": serializers.ListField(child=serializers.DictField()),
                "rows": ReportRows,
            },
        ),
    },
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, XlsxRenderer])
def month_end(request):
    """月结报告: one row per client the caller sees, with the counts; as JSON or a workbook."""
    form = ReportForm(request.query_params)
    if not form.is_valid():
        # The errors are JSON whatever format was asked for.
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        raise form_errors(form)
    month = form.cleaned_data["month"] or working_month()
    report = month_end_report(request.user, month, clock.now(), accountant=form.cleaned_data["accountant"])
    if request.accepted_renderer.format == "xlsx":
        name = f"qingka-month-end-{format_month(month)}.xlsx"
        return Response(
            export.xlsx_bytes(report.sheets(), for_whom=str(request.user)),
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Response(
        {
            "month": format_month(month),
            "clients": len(report.rows),
            "statuses": {status.value: n for status, n in report.status_counts()},
            "late": report.late,
            "by_accountant": report.by_accountant(),
            "rows": [
                {
                    "client": row.client.name,
                    "taxpayer_id": row.client.taxpayer_id,
                    "accountant": row.accountant,
                    "status": row.status.value,
                    "deadline": row.deadline,
                    "summary_on": row.summary_on,
                    "filed_on": row.filed_on,
                    "cleared_on": row.cleared_on,
                    "late": row.late_steps,
                    "last_job": row.last_job,
                    "error": row.error,
                    "remedy": row.remedy,
                }
                for row in report.rows
            ],
        }
    )
