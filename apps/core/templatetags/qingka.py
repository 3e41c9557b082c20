import datetime as dt
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.formats import date_format

from apps.core import clock

register = template.Library()


@register.filter
def yuan(value):
    """¥1,234,567.89 — amounts with the yuan sign and thousands separators; empty stays empty."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    return f"¥{amount:,.2f}"


@register.filter
def days_until(day):
    """Whole days from today (Asia/Shanghai) to `day`; negative once it has passed."""
    if not day:
        return ""
    return (day - clock.today()).days


@register.filter
def when(value):
    """A day or a moment, each in its own format: a date has no hour to show, a moment shows local time."""
    if isinstance(value, dt.datetime):
        return date_format(timezone.localtime(value), "DATETIME_FORMAT")
    return date_format(value, "DATE_FORMAT")


@register.filter
def narrowed(filterset) -> bool:
    """Whether a list's filters narrow it: an empty list then says no row matched, not that there are none."""
    form = filterset.form
    return form.is_valid() and any(value not in (None, "", [], ()) for value in form.cleaned_data.values())


@register.inclusion_tag("core/_rq_worker.html")
def rq_worker():
    """When the site's rq worker (notifications, imports, reports) last told Redis it is alive, on
    the site's clock; None when no worker is registered, `unknown` when Redis does not answer."""
    import django_rq
    import redis
    from django.conf import settings
    from rq import Worker

    try:
        workers = Worker.all(connection=django_rq.get_connection("default"))
    except redis.RedisError:
        return {"unknown": True}
    beats = [worker.last_heartbeat for worker in workers if worker.last_heartbeat is not None]
    return {"last": max(beats) + clock.offset_of(settings.QINGKA_CLOCK) if beats else None}
