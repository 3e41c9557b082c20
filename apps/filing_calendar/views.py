"""征期日历: the month grid for everyone signed in, an admin's change of a deadline, and each
user's secret ICS feed (/calendar.ics?key=…) that a phone calendar can subscribe to."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe
from icalendar import Alarm, Calendar, Event

from apps.core import clock
from apps.core.filters import DateInput
from apps.core.forms import MonthField
from apps.core.months import add_months, format_month, month_start
from apps.core.permissions import require_firm_admin

from . import services
from .display import Entry, deadlines_between, entries, local_midnight, month_grid
from .forms import PublishedTableForm
from .holidays import knows_year
from .models import CalendarFeed

FEED_MONTHS_BACK, FEED_MONTHS_AHEAD = 3, 12


class DeadlineForm(forms.Form):
    month = MonthField(widget=forms.HiddenInput)
    deadline = forms.DateField(
        label=gettext_lazy("申报截止日"),
        widget=DateInput(),
        error_messages={"required": gettext_lazy("请填写申报截止日"), "invalid": gettext_lazy("请输入有效的日期")},
    )
    reference = forms.CharField(
        label=gettext_lazy("依据"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("如：税总办征科函〔2025〕64号"),
    )


# Any year of these shows, the rule's deadlines and provisional holidays where nothing is published.
CALENDAR_YEARS = range(1990, 2101)


def _month(request) -> dt.date:
    """?month=YYYY-MM within CALENDAR_YEARS; this month for anything else."""
    try:
        year, number = (int(part) for part in request.GET["month"].split("-"))
        if year in CALENDAR_YEARS:
            return dt.date(year, number, 1)
    except (KeyError, ValueError, TypeError, OverflowError):
        pass
    return month_start(clock.today())


def _in_range(month: dt.date) -> dt.date | None:
    return month if month.year in CALENDAR_YEARS else None


def _page(request, month: dt.date, form: DeadlineForm | None = None, status: int = 200):
    deadline = deadlines_between(month, month)[0]
    if form is None and request.user.is_firm_admin:
        form = DeadlineForm(
            initial={"month": format_month(month), "deadline": deadline.date, "reference": deadline.reference}
        )
    feed = CalendarFeed.objects.filter(user=request.user).first()
    feed_url = request.build_absolute_uri(f"{reverse('calendar_ics')}?key={services.feed_key(feed)}") if feed else ""
    return render(
        request,
        "filing_calendar/month.html",
        {
            "month": month,
            "previous": _in_range(add_months(month, -1)),
            "next": _in_range(add_months(month, 1)),
            "weeks": month_grid(month, request.user),
            "deadline": deadline,
            "holidays_known": knows_year(month.year) and knows_year(add_months(month, 1).year),
            "form": form,
            "feed": feed,
            "feed_url": feed_url,
            "today": clock.today(),
        },
        status=status,
    )


@require_safe
@login_required
def month_view(request):
    return _page(request, _month(request))


@require_POST
@login_required
def change_deadline(request):
    require_firm_admin(request.user)
    form = DeadlineForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.set_deadline(
                data["month"], data["deadline"], data["reference"], user=request.user, request=request
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("已将 %(month)s 的申报截止日改为 %(day)s（管理员录入）")
                % {"month": format_month(data["month"]), "day": data["deadline"].isoformat()},
            )
            return redirect(f"{reverse('calendar')}?month={format_month(data['month'])}")
    month = form.cleaned_data.get("month") or month_start(clock.today())
    return _page(request, month, form, status=400)


def _year_page(request, year: int, form: PublishedTableForm | None = None, status: int = 200):
    if year not in CALENDAR_YEARS:
        raise Http404
    deadlines = deadlines_between(dt.date(year, 1, 1), dt.date(year, 12, 1))
    if form is None and request.user.is_firm_admin:
        # Only dates somebody published or entered: an estimate must be typed, not saved as official by a click.
        initial = {f"m{d.month.month}": d.date for d in deadlines if not d.is_estimate}
        form = PublishedTableForm(year, initial=initial)
    return render(
        request,
        "filing_calendar/year.html",
        {
            "year": year,
            "previous": year - 1 if year - 1 in CALENDAR_YEARS else None,
            "next": year + 1 if year + 1 in CALENDAR_YEARS else None,
            "deadlines": deadlines,
            "holidays_known": knows_year(year),
            "awaiting": year in services.years_awaiting_table(clock.today()),
            "form": form,
        },
        status=status,
    )


@require_safe
@login_required
def year_view(request, year: int):
    """The twelve deadlines of a year with their sources; for an admin, the form that enters the
    year's published table."""
    return _year_page(request, year)


@require_POST
@login_required
def enter_published_table(request, year: int):
    require_firm_admin(request.user)
    if year not in CALENDAR_YEARS:
        raise Http404
    form = PublishedTableForm(year, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.set_published_table(year, data["deadlines"], data["reference"], user=request.user, request=request)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已录入%(year)d年的官方征期（12个月）") % {"year": year})
            return redirect("calendar_year", year=year)
    return _year_page(request, year, form, status=400)


@require_POST
@login_required
def renew_feed(request):
    services.new_feed(request.user, request)
    messages.success(request, _("已生成新的订阅链接；之前的链接已失效"))
    return redirect("calendar")


@require_POST
@login_required
def revoke_feed(request):
    if services.revoke_feed(request.user, request):
        messages.success(request, _("已停用日历订阅链接"))
    return redirect("calendar")


@require_safe
def ics_feed(request):
    """No session: the signed key in the URL names the user, whose current feed it must be."""
    user = services.user_for_key(request.GET.get("key", ""))
    if user is None:
        raise Http404
    return HttpResponse(ics_for(user), content_type="text/calendar; charset=utf-8")


def ics_for(user) -> bytes:
    """Deadlines from a few months back to a year ahead, with a reminder three days before, and
    the entries `user` may see (the scheduled batches holding jobs of their clients)."""
    this_month = month_start(clock.today())
    first, last = add_months(this_month, -FEED_MONTHS_BACK), add_months(this_month, FEED_MONTHS_AHEAD)
    stamp = clock.now()
    cal = Calendar()
    cal.add("prodid", "-//Qingka//qingka//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("清卡 征期日历"))
    cal.add("x-wr-timezone", "Asia/Shanghai")
    for deadline in deadlines_between(first, last):
        event = Event()
        event.add("uid", f"deadline-{format_month(deadline.month)}@qingka")
        event.add("dtstamp", stamp)
        event.add("dtstart", deadline.date)
        event.add("dtend", deadline.date + dt.timedelta(days=1))
        summary = _("增值税申报截止（%(month)s所属期）") % {"month": format_month(deadline.period_month)}
        if deadline.is_estimate:
            summary += f"［{deadline.source_label}］"
        event.add("summary", summary)
        description = _("来源：%(source)s") % {"source": deadline.source_label}
        if deadline.reference:
            description += "\n" + _("依据：%(reference)s") % {"reference": deadline.reference}
        event.add("description", description)
        event.add("categories", [_("征期")])
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event["summary"])
        alarm.add("trigger", dt.timedelta(days=-3))
        event.add_component(alarm)
        cal.add_component(event)
    for entry in entries(user, local_midnight(first), local_midnight(add_months(last, 1))):
        cal.add_component(_entry_event(entry, stamp))
    return cal.to_ical()


def _entry_event(entry: Entry, stamp) -> Event:
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", entry.start.astimezone(dt.UTC))
    event.add("duration", dt.timedelta(hours=1))
    event.add("summary", entry.summary)
    event.add("categories", [entry.category])
    return event
