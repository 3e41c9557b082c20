"""图表: the working period's burn-down beside the period before, and the agents' work and
failures; each chart with its numbers as a table beside it."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.core import clock
from apps.periods.models import working_month

from . import data

WINDOWS = (7, 14, 30)


@require_safe
@login_required
def charts(request):
    today = clock.today()
    month = working_month(today)
    try:
        days = int(request.GET.get("days", 14))
    except ValueError:
        days = 14
    days = days if days in WINDOWS else 14
    first = today - dt.timedelta(days=days - 1)
    burn_down = data.burn_down(request.user, month, today)
    throughput = data.agent_throughput(request.user, first, today)
    failures, codes = data.failures_by_code(request.user, first, today)
    return render(
        request,
        "charts/index.html",
        {
            "month": month,
            "days": days,
            "windows": WINDOWS,
            "first": first,
            "today": today,
            "burn_down": burn_down,
            "throughput": throughput,
            "failures": failures,
            "codes": codes,
        },
    )
