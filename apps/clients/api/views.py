import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.accounts.fresh_code import fresh_code_error
from apps.accounts.permissions import FirmAdminOnly, FirmAdminWrites, can_operate_client
from apps.audit.api import AuditedModelViewSet
from apps.audit.models import Action
from apps.core import export

from .. import importing
from ..models import Client
from ..modes import set_invoicing_mode
from .serializers import ClientSerializer, SetInvoicingMode


class ClientFilter(django_filters.FilterSet):
    class Meta:
        model = Client
        fields = ["taxpayer_kind", "staff", "active", "taxpayer_id_legacy"]


class FormatIsAParameter(DefaultContentNegotiation):
    """`?format=xlsx|csv` names the template's file format here, not a renderer; answers and
    errors are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ImportUpload(serializers.Serializer):
    file = serializers.FileField(error_messages={"required": _("请上传文件（字段名 file）")})


def _refused(*, column: str, message: str) -> Response:
    """A request that cannot be read, answered in the import's own shape (one 400 body for all)."""
    body = {"dry_run": True, "written": False, "created": [], "updated": [], "unchanged": [], "ignored_columns": []}
    return Response({**body, "errors": [{"row": None, "column": column, "message": message}]}, status=400)


def _items(changes) -> list[dict]:
    return [change.shown() for change in changes]


IMPORT_ITEM = inline_serializer(
    "ImportItem",
    {
        "row": serializers.IntegerField(),
        "object": serializers.ChoiceField(choices=["client", "device"]),
        "key": serializers.CharField(help_text="纳税人识别号或设备编号"),
        "name": serializers.CharField(),
        "changes": serializers.DictField(help_text="列名 → {before, after}；口令只显示“（已更新）”"),
    },
    many=True,
)
IMPORT_RESULT = inline_serializer(
    "ImportResult",
    {
        "dry_run": serializers.BooleanField(),
        "written": serializers.BooleanField(),
        "created": IMPORT_ITEM,
        "updated": IMPORT_ITEM,
        "unchanged": IMPORT_ITEM,
        "errors": inline_serializer(
            "ImportError",
            {
                "row": serializers.IntegerField(allow_null=True),
                "column": serializers.CharField(allow_null=True),
                "message": serializers.CharField(),
            },
            many=True,
        ),
        "ignored_columns": serializers.ListField(child=serializers.CharField()),
    },
)


class ClientViewSet(AuditedModelViewSet):
    serializer_class = ClientSerializer
    permission_classes = [FirmAdminWrites]
    filterset_class = ClientFilter
    search_fields = ["name", "taxpayer_id"]
    ordering_fields = ["name", "taxpayer_id", "created_at"]
    created_action, updated_action = Action.CLIENT_CREATED, Action.CLIENT_UPDATED

    def get_queryset(self):
        return Client.objects.visible_to(self.request.user).select_related("staff").prefetch_related("invoicing_modes")

    @extend_schema(request=SetInvoicingMode, responses={200: ClientSerializer})
    @action(detail=True, methods=["post"], url_path="invoicing-mode", permission_classes=[IsAuthenticated])
    def invoicing_mode(self, request, pk=None):
        """设置开票方式: from `from_month` on the client invoices as `mode` (税控 tax_control, 数电
        digital, 双轨 dual); audited. For the firm's admins and the client's 会计."""
        client = self.get_object()
        if not can_operate_client(request.user, client):
            raise PermissionDenied(_("只有管理员和该客户的负责会计可以设置开票方式"))
        given = SetInvoicingMode(data=request.data)
        given.is_valid(raise_exception=True)
        set_invoicing_mode(client, **given.validated_data, user=request.user, request=request)
        return Response(ClientSerializer(self.get_queryset().get(pk=client.pk)).data)

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "ImportRequest",
                {"file": serializers.FileField(), "dry_run": serializers.BooleanField(default=True)},
            )
        },
        responses={200: IMPORT_RESULT, 400: IMPORT_RESULT},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser],
        permission_classes=[FirmAdminOnly],
    )
    def import_file(self, request):
        """导入客户与设备 (.xlsx, or .csv in UTF-8 or GBK; the template's columns). With `dry_run`
        (the default) nothing is written; otherwise every change is written, or none when any row
        has an error. 400 whenever there are errors. A file that sets a device password is written
        only with `otp`, a fresh 动态验证码, from a user with a second factor."""
        upload = ImportUpload(data=request.data)
        raw = request.data.get("dry_run")
        try:
            dry_run = True if raw in (None, "") else serializers.BooleanField().to_internal_value(raw)
        except serializers.ValidationError:
            return _refused(column="dry_run", message=_("dry_run 应为 true 或 false"))
        if not upload.is_valid():
            field, messages = next(iter(upload.errors.items()))
            return _refused(column=field, message=str(messages[0]))
        file = upload.validated_data["file"]
        data = file.read(importing.LIMITS.max_bytes + 1)
        result = importing.plan(file.name, data)
        if not dry_run and result.sets_password:
            error = fresh_code_error(request.user, request.data.get("otp", ""))
            if error:
                return _refused(column="otp", message=error)
        if not dry_run:
            result = importing.write(file.name, data, user=request.user, request=request)
        body = {
            "dry_run": dry_run,
            "written": not dry_run and not result.problems and bool(result.to_write),
            "created": _items(result.of("created")),
            "updated": _items(result.of("updated")),
            "unchanged": _items(result.of("unchanged")),
            "errors": [{"row": p.row, "column": p.column, "message": p.message} for p in result.problems],
            "ignored_columns": result.ignored_columns,
        }
        return Response(body, status=status.HTTP_400_BAD_REQUEST if result.problems else status.HTTP_200_OK)

    @extend_schema(
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["xlsx", "csv"], default="xlsx")],
        responses={(200, content_type): OpenApiTypes.BINARY for content_type in export.CONTENT_TYPES.values()},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="import/template",
        permission_classes=[FirmAdminOnly],
        content_negotiation_class=FormatIsAParameter,
    )
    def import_template(self, request):
        """The import template with its Chinese headers (xlsx: and a sheet of notes)."""
        fmt = request.query_params.get("format", "xlsx")
        if fmt not in ("xlsx", "csv"):
            raise serializers.ValidationError({"format": [_("format 应为 xlsx 或 csv")]})
        return export.file_response(fmt, importing.TEMPLATE_NAME, importing.template_bytes(fmt))
