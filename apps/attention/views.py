from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from apps.core import clock, export

from .rows import Row, rows_for

BLOCK_SHOWN = 8  # the top of 需要处理 on the dashboard; the page has them all

HEADERS = [_("事项"), _("客户"), _("纳税人识别号"), _("税控设备"), _("负责会计"), _("起始"), _("原因"), _("处理建议")]


def export_row(row: Row) -> list:
    return [
        row.label,
        row.client.name if row.client else "",
        row.client.taxpayer_id if row.client else "",
        row.device.number if row.device else "",
        row.staff or "",
        row.since,
        row.reason,
        row.remedy,
    ]


EXPORT = export.Table("qingka-attention", _("需要处理"), HEADERS, export_row)


@require_safe
@login_required
def attention_list(request):
    """需要处理: every row the user may see, with the buttons that act on it."""
    rows = rows_for(request.user, clock.now())
    if response := EXPORT.respond(request, rows):
        return response
    return render(request, "attention/list.html", {"rows": rows})


@require_safe
@login_required
def attention_block(request):
    """The dashboard's 需要处理 block, fetched by htmx once the dashboard is shown."""
    rows = rows_for(request.user, clock.now())
    return render(request, "attention/_block.html", {"rows": rows[:BLOCK_SHOWN], "count": len(rows)})
