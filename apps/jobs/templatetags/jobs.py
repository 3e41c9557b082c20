from django import template
from django.conf import settings

from apps.core import clock
from apps.jobs.health import is_stale, last_sweep_cached
from apps.jobs.labels import kind_counts

register = template.Library()


@register.inclusion_tag("jobs/_last_sweep.html")
def last_sweep():
    """When the background sweep (leases, retries, offline agents, the autopilot) last finished:
    for the pages whose work it does."""
    finished_at = last_sweep_cached()
    return {
        "finished_at": finished_at,
        "stale": is_stale(finished_at, clock.now()),
        "every": settings.QINGKA_SWEEP_SECONDS,
    }


# {"upload_summary": 75} → [("抄报", 75)]: a job count by kind, labelled
register.filter("kind_counts", kind_counts)
