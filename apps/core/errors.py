"""The site's own error pages, in the person's language, and which failures are whose fault:
a value out of the database's range is the request's (400); the database away is ours (503)."""

import logging
import sys

from django.db import DataError, InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


def is_database_away(error: BaseException | None) -> bool:
    return isinstance(error, (OperationalError, InterfaceError))


def is_bad_value(error: BaseException | None) -> bool:
    """A value the database refused as out of range or malformed (numeric overflow, a too-long
    text): the request sent it, so the answer is a 400, never a 500."""
    return isinstance(error, DataError)


API_DETAIL = {
    400: _("请求有误"),
    403: _("无权访问"),
    404: _("页面不存在"),
    500: _("服务器出错"),
    503: _("数据库暂时无法连接，请稍后重试"),
}


def _page(request, status: int):
    """The API answers JSON, as its schema documents; pages answer the site's own page. The
    error templates use neither the session, the user nor messages, so they render with the
    database away."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(API_DETAIL[status])}, status=status)
    return render(request, f"{status}.html", status=status)


def bad_request(request, exception=None):
    return _page(request, 400)


def permission_denied(request, exception=None):
    return _page(request, 403)


def page_not_found(request, exception=None):
    return _page(request, 404)


def unavailable(request, exception=None):
    return _page(request, 503)


def server_error(request):
    """Django's last resort for an error outside a view (a middleware, a session save)."""
    error = sys.exception()
    if is_database_away(error):
        return unavailable(request)
    if is_bad_value(error):
        return bad_request(request)
    return _page(request, 500)
