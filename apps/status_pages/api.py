"""The client and device import through the API, with the page's engine (importing.py):
`POST /api/v1/clients/import/` and its template, `GET /api/v1/clients/import/template/`. Their
paths sit under the clients API's; config/api.py puts them before its router."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, content_negotiation_class, parser_classes, permission_classes
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from apps.accounts.fresh_code import fresh_code_error
from apps.core import export
from apps.core.permissions import FirmAdminOnly

from . import importing


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


@extend_schema(
    request={
        "multipart/form-data": inline_serializer(
            "ImportRequest",
            {"file": serializers.FileField(), "dry_run": serializers.BooleanField(default=True)},
        )
    },
    responses={200: IMPORT_RESULT, 400: IMPORT_RESULT},
)
@api_view(["POST"])
@parser_classes([MultiPartParser])
@permission_classes([FirmAdminOnly])
def import_file(request):
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
@api_view(["GET"])
@permission_classes([FirmAdminOnly])
@content_negotiation_class(FormatIsAParameter)
def import_template(request):
    """The import template with its Chinese headers (xlsx: and a sheet of notes)."""
    fmt = request.query_params.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise serializers.ValidationError({"format": [_("format 应为 xlsx 或 csv")]})
    return export.file_response(fmt, importing.TEMPLATE_NAME, importing.template_bytes(fmt))
