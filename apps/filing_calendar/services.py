"""Changes people make to the calendar: an admin's deadline, and each user's secret ICS feed."""

import datetime as dt
import secrets
from collections.abc import Mapping

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock
from apps.core.months import format_month

from .models import CalendarFeed, FilingDeadline, Source, deadline_for

FEED_SALT = "qingka.calendar-feed"


def deadline_errors(month: dt.date, deadline: dt.date | None) -> dict[str, list[str]]:
    if deadline is None:
        return {"deadline": [_("请填写申报截止日")]}
    if (deadline.year, deadline.month) != (month.year, month.month):
        return {"deadline": [_("申报截止日须在%(month)s之内") % {"month": format_month(month)}]}
    return {}


@transaction.atomic
def set_deadline(month: dt.date, deadline: dt.date, reference: str = "", *, user, request=None) -> FilingDeadline:
    """An admin's deadline for `month` (its first day): kept with source 管理员录入, never as
    官方公布, audited; the periods whose return falls due in that month follow it. Raises
    ValidationError (by field, in Chinese) and writes nothing when the date is not in the month."""
    errors = deadline_errors(month, deadline)
    if errors:
        raise ValidationError(errors)
    return _store(month, deadline, Source.ADMIN, reference, user=user, request=request)


def table_errors(year: int, deadlines: Mapping[int, dt.date | None]) -> dict[str, list[str]]:
    """By field (m1 … m12): each month's published deadline must be given, fall in its month and
    not before the 15th (the deadline is the 15th or later, never earlier)."""
    errors = {}
    for number in range(1, 13):
        month, deadline = dt.date(year, number, 1), deadlines.get(number)
        if deadline is None:
            errors[f"m{number}"] = [_("请填写%(month)s的申报截止日") % {"month": format_month(month)}]
        elif (deadline.year, deadline.month) != (year, number):
            errors[f"m{number}"] = [_("申报截止日须在%(month)s之内") % {"month": format_month(month)}]
        elif deadline.day < 15:
            errors[f"m{number}"] = [_("申报截止日不会早于当月15日")]
    return errors


@transaction.atomic
def set_published_table(year: int, deadlines: Mapping[int, dt.date], reference: str, *, user, request=None) -> list:
    """The State Taxation Administration's table for `year`, entered by an admin from its notice
    (`reference`, e.g. 税总办征科函〔2026〕xx号): all twelve months at once, kept as 官方公布 with
    the notice, each change audited like set_deadline's. Raises ValidationError by field and
    writes nothing unless all twelve are right."""
    errors = table_errors(year, deadlines)
    if not reference.strip():
        errors["reference"] = [_("请填写依据（公布征期的文件）")]
    if errors:
        raise ValidationError(errors)
    reference = reference.strip()
    return [
        _store(dt.date(year, n, 1), deadlines[n], Source.OFFICIAL, reference, user=user, request=request)
        for n in range(1, 13)
    ]


def _store(month: dt.date, deadline: dt.date, source: str, reference: str, *, user, request) -> FilingDeadline:
    row = FilingDeadline.objects.select_for_update().filter(month=month).first()
    current = deadline_for(month)
    before = {"deadline": current.date, "source": current.source, "reference": row.reference if row else ""}
    row = row or FilingDeadline(month=month)
    row.deadline, row.source, row.reference = deadline, source, reference
    row.save()  # the periods follow (apps/periods/signals.py)
    after = {"deadline": deadline, "source": str(source), "reference": reference}
    log.record(Action.FILING_DEADLINE_CHANGED, row, user=user, request=request, before=before, after=after)
    return row


def years_awaiting_table(today: dt.date) -> list[int]:
    """The years whose published table an admin should enter now: from December, next year, and
    this year, while any of their months has no published or entered date (only the rule's)."""
    years = [today.year, today.year + 1] if today.month == 12 else [today.year]
    entered = {
        year: count
        for year, count in FilingDeadline.objects.filter(month__year__in=years)
        .exclude(source__in=Source.estimated())
        .values_list("month__year")
        .annotate(count=Count("pk"))
    }
    return [year for year in years if entered.get(year, 0) < 12]


def feed_key(feed: CalendarFeed) -> str:
    return signing.dumps({"u": feed.user_id, "n": feed.nonce}, salt=FEED_SALT)


def user_for_key(key: str):
    """The active user whose current feed `key` names, or None (a bad, old or revoked key)."""
    try:
        data = signing.loads(key, salt=FEED_SALT)
    except signing.BadSignature:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(user_id=data.get("u"), nonce=data.get("n")).first()
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


@transaction.atomic
def new_feed(user, request=None) -> CalendarFeed:
    """A new secret feed for `user`; the previous key, if any, stops working."""
    feed = CalendarFeed.objects.select_for_update().filter(user=user).first() or CalendarFeed(user=user)
    renewed = feed.pk is not None
    feed.nonce, feed.created_at = secrets.token_hex(16), clock.now()
    feed.save()
    log.record(
        Action.CALENDAR_FEED_RENEWED if renewed else Action.CALENDAR_FEED_CREATED, feed, user=user, request=request
    )
    return feed


def revoke_feed(user, request=None) -> bool:
    feed = CalendarFeed.objects.filter(user=user).first()
    if feed is None:
        return False
    log.record(Action.CALENDAR_FEED_REVOKED, feed, user=user, request=request)
    feed.delete()
    return True
