"""The scheduled batches on the 征期 calendar (apps/filing_calendar/display.py): its month page and
ICS feed show the batches holding jobs of the clients a user may see."""

import datetime as dt

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.clients.models import Client
from apps.core.months import format_month
from apps.filing_calendar.display import Entry

from .models import Batch


def visible_batches(user, start: dt.datetime, end: dt.datetime):
    """The batches starting in [start, end) with at least one job of a client `user` may see,
    each annotated with `visible_jobs`, the number of such jobs."""
    visible = Q(jobs__device__client__in=Client.objects.visible_to(user))
    return (
        Batch.objects.filter(start_at__gte=start, start_at__lt=end)
        .annotate(visible_jobs=Count("jobs", filter=visible))
        .filter(visible_jobs__gt=0)
        .order_by("start_at", "pk")
    )


def batch_entries(user, start: dt.datetime, end: dt.datetime) -> list[Entry]:
    """Each visible batch, linked to its page for the firm's admins."""
    return [
        Entry(
            uid=f"batch-{batch.pk}@qingka",
            css="batch",
            start=batch.start_at,
            text=_("批量%(kind)s（%(n)s 台）") % {"kind": batch.get_kind_display(), "n": batch.visible_jobs},
            summary=_("批量%(kind)s：%(month)s，%(n)d 个设备")
            % {"kind": batch.get_kind_display(), "month": format_month(batch.month), "n": batch.visible_jobs},
            category=_("批量任务"),
            url=reverse("scheduling:detail", args=[batch.pk]) if user.is_firm_admin else "",
        )
        for batch in visible_batches(user, start, end)
    ]
