"""What the API does with bad input, the same as the pages: deeply nested JSON, values out of
the database's range and the database away get a 400 or 503 with a reason in Chinese, never a
500; the OpenAPI schema documents those answers. (Not in apps/audit/api.py: DRF's settings import
this module while rest_framework.views loads.)"""

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

from . import errors

MAX_JSON_DEPTH = 32


def json_depth(value) -> int:
    """How deeply lists and objects nest in `value`, without recursion. Only lists and objects are
    stacked: stacking the strings and numbers too, most of a heartbeat's items, took twice as long."""
    deepest, stack = 0, [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


class BoundedJSONParser(parsers.JSONParser):
    """JSON as DRF reads it, refused with a 400 when it nests deeper than MAX_JSON_DEPTH."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON 嵌套层数过多（上限 %(n)d 层）") % {"n": MAX_JSON_DEPTH}) from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(_("JSON 嵌套层数过多（上限 %(n)d 层）") % {"n": MAX_JSON_DEPTH})
        return data


def form_errors(form) -> exceptions.ValidationError:
    """A Django form's errors as the API's 400, field by field (an endpoint that reads its query
    through the same form as its page)."""
    return exceptions.ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})


def exception_handler(exc, context):
    """DRF's handler, and the same classes of failure as the pages (apps/core/errors.py): a value
    the database refuses is a 400, the database away a 503, each with a reason in Chinese."""
    if errors.is_bad_value(exc):
        exc = exceptions.ValidationError({"detail": _("参数超出允许范围")})
    elif errors.is_database_away(exc):
        exc = exceptions.APIException(_("数据库暂时无法连接，请稍后重试"))
        exc.status_code = 503
    from rest_framework.views import exception_handler as drf_handler

    return drf_handler(exc, context)


ERROR_RESPONSES = {
    "400": "请求参数不正确（字段 → 错误列表，或 detail）",
    "401": "未登录或令牌无效",
    "403": "无权执行该操作",
    "404": "对象不存在或无权查看",
}
ERROR_SCHEMA = {"type": "object", "additionalProperties": True}


def document_error_responses(result, generator, request, public):
    """drf-spectacular hook: every operation may answer with the errors above, as a JSON object."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_RESPONSES.items():
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}},
                )
    return result
