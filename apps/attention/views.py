from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.core import clock

from .rows import rows_for


@require_safe
@login_required
def attention_list(request):
    """需要处理: every row the user may see, with the buttons that act on it."""
    return render(request, "attention/list.html", {"rows": rows_for(request.user, clock.now())})
