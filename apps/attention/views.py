from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.core import clock

from .rows import rows_for

BLOCK_SHOWN = 8  # the top of 需要处理 on the dashboard; the page has them all


@require_safe
@login_required
def attention_list(request):
    """需要处理: every row the user may see, with the buttons that act on it."""
    return render(request, "attention/list.html", {"rows": rows_for(request.user, clock.now())})


@require_safe
@login_required
def attention_block(request):
    """The dashboard's 需要处理 block, fetched by htmx once the dashboard is shown."""
    rows = rows_for(request.user, clock.now())
    return render(request, "attention/_block.html", {"rows": rows[:BLOCK_SHOWN], "count": len(rows)})
