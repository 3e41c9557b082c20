"""GET /api/v1/invoices/?code=&number=&date_from=&date_to=&amount=&client=  (发票查询)
POST /api/v1/invoices/sync/  {"client"?, "month" | "code" + "number"}  (read them from the devices)"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from apps.core import clock
from apps.core.api_errors import form_errors
from apps.core.months import format_month
from apps.core.permissions import can_record_returns

from ..forms import SearchForm, SyncForm
from ..lookup import Reason, explain, found, search
from ..sync import request_queries

MAX_RESULTS = 500


def _checked(form):
    if not form.is_valid():
        raise form_errors(form)
    return form


def _invoice(invoice) -> dict:
    return {
        "code": invoice.code,
        "number": invoice.number,
        "type": invoice.kind,
        "issued_at": invoice.issued_at,
        "amount": f"{invoice.amount:.2f}",
        "tax": f"{invoice.tax:.2f}",
        "buyer": invoice.buyer,
        "uploaded": invoice.uploaded,
        "client": {"id": invoice.device.client_id, "name": invoice.device.client.name},
        "device": invoice.device.number,
    }


def _reason(reason: Reason) -> dict:
    return {
        "kind": reason.kind,
        "title": reason.title,
        "text": reason.text,
        "invoices": [_invoice(i) for i in reason.invoices],
        "devices": [
            {"number": device.number, "client": device.client.name, "known": known} for device, known in reason.devices
        ],
    }


@extend_schema(
    tags=["invoices"],
    parameters=[
        OpenApiParameter("code", str, description="发票代码, 10 or 12 digits (with number)"),
        OpenApiParameter("number", str, description="发票号码, 8 digits (20 for a 数电票)"),
        OpenApiParameter("date_from", str, description="YYYY-MM-DD, issued on or after"),
        OpenApiParameter("date_to", str, description="YYYY-MM-DD, issued on or before"),
        OpenApiParameter("amount", str, description="金额 or 价税合计, e.g. 1130.00"),
        OpenApiParameter("client", int, description="one client's devices"),
    ],
    responses={
        200: inline_serializer(
            "InvoiceLookup",
            {
                "count": serializers.IntegerField(),
                "truncated": serializers.BooleanField(help_text=f"more than {MAX_RESULTS} matched"),
                "results": serializers.ListField(child=serializers.DictField()),
                "reasons": serializers.ListField(
                    child=serializers.DictField(), help_text="when nothing matched: why that can be"
                ),
            },
        )
    },
)
@api_view(["GET"])
def invoices(request):
    """发票查询 across what the devices reported: each invoice with its client, device, period and upload."""
    criteria = _checked(SearchForm(request.query_params, user=request.user)).criteria()
    matched = search(request.user, criteria)
    count = matched.count()
    results = [
        {
            **_invoice(row.invoice),
            "period": format_month(row.month),
            "upload": row.upload,
            "reported_by_job": row.invoice.reported_by_id,
            "reported_at": row.invoice.reported_at,
        }
        for row in found(matched[:MAX_RESULTS])
    ]
    reasons = [] if count else [_reason(r) for r in explain(request.user, criteria, clock.now())]
    return Response({"count": count, "truncated": count > MAX_RESULTS, "results": results, "reasons": reasons})


@extend_schema(
    tags=["invoices"],
    request=inline_serializer(
        "InvoiceSync",
        {
            "client": serializers.IntegerField(required=False),
            "month": serializers.CharField(required=False, help_text="YYYY-MM"),
            "code": serializers.CharField(required=False),
            "number": serializers.CharField(required=False),
        },
    ),
    responses={
        202: inline_serializer(
            "InvoiceSyncRequested",
            {
                "jobs": serializers.ListField(child=serializers.IntegerField()),
                "skipped": serializers.ListField(child=serializers.DictField()),
            },
        )
    },
)
@api_view(["POST"])
def sync(request):
    """Read the invoices from the devices now (发票查询 jobs): 管理员 any device, 会计 their clients'."""
    if not can_record_returns(request.user):
        raise PermissionDenied
    if not isinstance(request.data, dict):  # a JSON list or number is no form's data
        raise ValidationError({"detail": _("请求体应为 JSON 对象")})
    form = _checked(SyncForm(request.data, user=request.user))
    jobs, skipped = request_queries(request.user, form.cleaned_data["client"], form.query(), request)
    return Response(
        {
            "jobs": [job.pk for job in jobs],
            "skipped": [{"device": device.number, "reason": reason} for device, reason in skipped],
        },
        status=status.HTTP_202_ACCEPTED,
    )
