"""工作台: the working period's deadline, counts by status, the clients at risk first, the agents;
and the returns filed, recorded in bulk."""

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q, Window
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.middleware import background
from apps.accounts.models import User
from apps.clients.models import Client, TaxpayerKind
from apps.core import clock, export
from apps.core.filters import DateInput, page_of
from apps.core.forms import MONTH_ERROR, MonthField
from apps.core.months import add_months, format_month, parse_month
from apps.core.permissions import can_operate_client, can_record_returns, can_view_client
from apps.devices.errors import error_info
from apps.devices.models import Agent, Device, DeviceKind
from apps.filing_calendar.models import period_deadlines
from apps.jobs.queries import attach_last_jobs
from apps.periods import queries as period_queries
from apps.periods.models import working_month
from apps.periods.rules import FINISHED, REMEDIES, PeriodStatus, window_opens, working_month_for
from apps.periods.services import FiledReturn, record_returns

from . import queries

PROBLEMS = [
    ("late", gettext_lazy("逾期")),
    ("missing", gettext_lazy("设备不在位")),
    ("offline", gettext_lazy("前置机离线")),
]
MONTHS_IN_SELECTOR = 24  # the next period, for look-ahead, and 23 before it
STRAGGLERS_SHOWN = 20


class DashboardFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        field_name="status_code",
        choices=PeriodStatus.choices,
        label=gettext_lazy("状态"),
        empty_label=gettext_lazy("全部"),
    )
    problem = django_filters.ChoiceFilter(
        choices=PROBLEMS, method="filter_problem", label=gettext_lazy("设备问题"), empty_label=gettext_lazy("全部")
    )
    staff = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(role=User.Role.ACCOUNTANT).order_by("username"),
        label=gettext_lazy("负责会计"),
        empty_label=gettext_lazy("全部"),
    )
    agent = django_filters.ModelChoiceFilter(
        queryset=Agent.objects.all(),
        method="filter_agent",
        label=gettext_lazy("前置机"),
        empty_label=gettext_lazy("全部"),
    )
    kind = django_filters.ChoiceFilter(
        choices=DeviceKind.choices,
        method="filter_kind",
        label=gettext_lazy("设备类型"),
        empty_label=gettext_lazy("全部"),
    )
    taxpayer_kind = django_filters.ChoiceFilter(
        choices=TaxpayerKind.choices, label=gettext_lazy("纳税人类型"), empty_label=gettext_lazy("全部")
    )
    q = django_filters.CharFilter(method="filter_search", label=gettext_lazy("客户名称或纳税人识别号"))

    class Meta:
        model = Client
        fields: list[str] = []

    def filter_problem(self, clients, name, value):
        if value == "late":
            return clients.filter(is_late=True)
        return queries.with_device(clients, **(queries.MISSING_DEVICE if value == "missing" else queries.OFFLINE_AGENT))

    def filter_agent(self, clients, name, value):
        return queries.with_device(clients, agent=value)

    def filter_kind(self, clients, name, value):
        return queries.with_device(clients, kind=value)

    def filter_search(self, clients, name, value):
        value = value.strip()
        if not value:
            return clients
        return clients.filter(Q(name__icontains=value) | Q(taxpayer_id__icontains=value.upper()))


def _month_from(request, working: dt.date | None, warn: bool) -> dt.date | None:
    text = request.GET.get("month")
    if text:
        try:
            return parse_month(text)
        except ValueError:
            if warn:  # not on every poll of the live fragment
                messages.error(request, format_lazy("{}；{}", MONTH_ERROR, _("已显示当前工作月份")))
    return working


def _without(query: QueryDict, *keys) -> QueryDict:
    query = query.copy()
    for key in keys:
        query.pop(key, None)
    return query


def _listed(filters):
    """The table's clients in risk order, with their devices (never their passwords: each would
    cost a decryption for nothing)."""
    return queries.order_by_risk(filters.qs).prefetch_related(
        Prefetch(
            "devices",
            queryset=Device.objects.select_related("agent")
            .defer(*Device.SECRET_FIELDS, "agent__signing_key")
            .order_by("sub_number"),
        )
    )


def dashboard_context(request, full_page: bool = True) -> dict:
    now, today = clock.now(), clock.today()
    working, month, deadlines = _months(request, today, full_page)
    deadline = deadlines[month]
    clients = period_queries.clients_for_month(request.user, month, now, deadline=deadline.date)
    filters = DashboardFilter(request.GET, queryset=clients)
    unfiltered_by_status = DashboardFilter(_without(request.GET, "status", "problem"), queryset=clients).qs
    counts = period_queries.status_counts(unfiltered_by_status)
    page = page_of(request, _listed(filters), count=_listed_count(filters, counts))
    attach_last_jobs(page)
    for client in page:
        _decorate(client, today)
    agents = list(queries.agent_panel(request.user))
    # The agent filter offers the panel's agents: no second query for the same rows.
    agent_field = filters.form.fields["agent"]
    agent_field.widget.choices = [("", agent_field.empty_label)] + [(agent.pk, agent.name) for agent in agents]

    base = _without(request.GET, "status", "problem", "page")
    bars = [
        _bar(base, "status", code, label, counts[code], request.GET.get("status") == code)
        for code, label in PeriodStatus.choices
    ]
    bars += [
        _bar(base, "problem", key, label, count, request.GET.get("problem") == key)
        for key, label, count in (
            ("late", _("逾期"), counts["late"]),
            ("missing", _("设备不在位"), queries.missing_device_count(unfiltered_by_status)),
            ("offline", _("前置机离线"), sum(not agent.online for agent in agents)),
        )
    ]
    top = max([bar["count"] for bar in bars] + [1])
    for bar in bars:
        bar["percent"] = round(100 * bar["count"] / top)
    opens = window_opens(month)
    return {
        "month": month,
        "month_value": format_month(month),
        "working_month": working,
        "months": [add_months(working, 1 - n) for n in range(MONTHS_IN_SELECTOR)],
        "deadline": deadline,
        "window_opens": opens,
        "window_open": now >= opens,
        "days_left": (deadline.date - today).days,
        "days_overdue": (today - deadline.date).days,
        "stragglers": _stragglers(request.user, month, now, deadlines) if full_page and month == working else None,
        "agents": agents,
        "filter": filters,
        "page": page,
        "bars": bars,
        "query": _without(request.GET, "page").urlencode(),
        "can_record_returns": can_record_returns(request.user),
        "today": today,
    }


def _months(request, today: dt.date, full_page: bool) -> tuple[dt.date, dt.date, dict]:
    """(the working month, the month shown, the deadlines of the periods the page needs), the
    deadlines in one query: the last calendar month's (it decides the working month), the month
    shown's and the one before (上期未完成)."""
    last_calendar_month = add_months(today.replace(day=1), -1)
    requested = _month_from(request, None, warn=full_page)
    wanted = {last_calendar_month, add_months(last_calendar_month, 1)}
    if requested:
        wanted.add(requested)
    deadlines = period_deadlines(wanted | {add_months(m, -1) for m in wanted})
    working = working_month_for(today, deadlines[last_calendar_month].date)
    return working, requested or working, deadlines


def _stragglers(user, month: dt.date, now: dt.datetime, deadlines: dict) -> dict:
    """上期未完成: last period's clients that are not done, most urgent first, each with its remedy;
    how many there are comes with the rows (a window count), not from a second query."""
    last = add_months(month, -1)
    unfinished = queries.order_by_risk(
        period_queries.clients_for_month(user, last, now, deadline=deadlines[last].date)
        .exclude(status_code__in=FINISHED)
        .annotate(unfinished_count=Window(Count("pk")))
    )
    rows = list(unfinished[:STRAGGLERS_SHOWN])
    for client in rows:
        client.status = PeriodStatus(client.status_code)
        client.remedy = REMEDIES.get(client.status)
    count = rows[0].unfinished_count if rows else 0
    return {"month": last, "month_value": format_month(last), "rows": rows, "count": count}


def _listed_count(filters, counts) -> int | None:
    """How many clients the list holds, from the status counts when only a status narrows it
    further than what was counted (no COUNT query then); None when a device problem filters it."""
    if not filters.is_valid() or filters.form.cleaned_data.get("problem"):
        return None
    status = filters.form.cleaned_data.get("status")
    return counts.get(status, 0) if status else period_queries.clients_counted(counts)


def _bar(base: QueryDict, key: str, value: str, label, count: int, active: bool) -> dict:
    query = base.copy()
    if not active:
        query[key] = value
    return {"key": value, "label": label, "count": count, "active": active, "query": query.urlencode()}


def _decorate(client: Any, today: dt.date) -> None:  # a row of clients_for_month, annotated
    client.status = PeriodStatus(client.status_code)
    client.remedy = REMEDIES.get(client.status)
    client.device_list = list(client.devices.all())
    for device in client.device_list:
        device.state = device.cycle_state(today)
    seen = [d.last_seen_at for d in client.device_list if d.last_seen_at]
    client.last_contact = max(seen) if seen else None
    job = client.last_job
    client.last_job_error = error_info(job.error_code) if job and job.error_code else None


def _decorated(clients, today: dt.date):
    """Every client of the table, decorated as on the page, a chunk at a time."""
    chunk = []
    for client in clients.iterator(chunk_size=export.CHUNK):
        chunk.append(client)
        if len(chunk) == export.CHUNK:
            yield from _decorate_all(chunk, today)
            chunk = []
    yield from _decorate_all(chunk, today)


def _decorate_all(clients, today):
    attach_last_jobs(clients)
    for client in clients:
        _decorate(client, today)
    return clients


def export_row(client: Any) -> list:  # a decorated row of clients_for_month
    job, error = client.last_job, client.last_job_error
    return [
        client.name,
        client.taxpayer_id,
        client.get_taxpayer_kind_display(),
        client.staff or "",
        "；".join(
            f"{d.get_kind_display()} {d.number}"
            + (f"（{_('分机')}{d.sub_number}）" if d.sub_number else "")
            + f" {d.state.label if d.state else _('未读取')}"
            + ("" if d.present else f" {_('不在位')}")
            for d in client.device_list
        ),
        client.status.label + (f"（{_('按日历估计')}）" if client.lock_estimated and client.status == "locked" else ""),
        _("逾期") if client.is_late else "",
        client.period_deadline,
        f"{job.get_kind_display()} {job.get_state_display()}" if job else "",
        error.message if error else "",
        error.remedy if error else "",
        client.last_contact,
    ]


EXPORT = export.Table(
    "qingka-dashboard",
    gettext_lazy("工作台"),
    [
        gettext_lazy("客户名称"),
        gettext_lazy("纳税人识别号"),
        gettext_lazy("纳税人类型"),
        gettext_lazy("负责会计"),
        gettext_lazy("设备"),
        gettext_lazy("申报状态"),
        gettext_lazy("逾期"),
        gettext_lazy("申报截止日"),
        gettext_lazy("最近任务"),
        gettext_lazy("错误信息"),
        gettext_lazy("处理建议"),
        gettext_lazy("最近联络设备"),
    ],
    export_row,
)


@login_required
def dashboard(request):
    if request.GET.get("export") in export.FORMATS:
        now, today = clock.now(), clock.today()
        clients = period_queries.clients_for_month(
            request.user, _month_from(request, None, warn=False) or working_month(today), now
        )
        return EXPORT.respond(request, _decorated(_listed(DashboardFilter(request.GET, queryset=clients)), today))
    return render(request, "dashboard/index.html", dashboard_context(request))


@background
@login_required
def live(request):
    """The counts and the table, for htmx to poll while jobs run."""
    return render(request, "dashboard/_live.html", dashboard_context(request, full_page=False))


class BulkFiledForm(forms.Form):
    month = MonthField(widget=forms.HiddenInput)
    filed_on = forms.DateField(
        label=gettext_lazy("申报日期"), required=False, widget=DateInput(), help_text=gettext_lazy("留空则为今天")
    )
    # Every client that exists; whether the user may act on each is checked in the view.
    clients = forms.ModelMultipleChoiceField(
        queryset=Client.objects.select_related("staff"),
        label=gettext_lazy("客户"),
        error_messages={"required": gettext_lazy("请先在表格中勾选客户")},
    )
    return_query = forms.CharField(required=False, widget=forms.HiddenInput)


@login_required
@require_POST
def record_filed(request):
    """Marks the selected clients' periods of a month as filed: all of them, or none."""
    user = request.user
    if not can_record_returns(user):
        raise PermissionDenied
    form = BulkFiledForm(request.POST)
    back = reverse("dashboard")
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form[field].label}：{error}")
        return redirect(f"{back}?{request.POST.get('return_query', '')}")
    data = form.cleaned_data
    back = f"{back}?{data['return_query']}"
    month, filed_on = data["month"], data["filed_on"] or clock.today()
    selected = data["clients"]
    problems, todo = [], []
    for client in selected:
        if not can_operate_client(user, client):
            # A client the user may not even see is not named back to them.
            problems.append(
                _("无权为客户“%(client)s”记录申报") % {"client": client}
                if can_view_client(user, client)
                else _("所选客户中有不存在或无权查看的客户")
            )
            continue
        todo.append(FiledReturn(client, month, filed_on, str(client)))
    if not problems:
        try:
            record_returns(todo, user=user, request=request)
        except ValidationError as refused:
            problems = refused.messages
    if problems:
        for problem in dict.fromkeys(problems):
            messages.error(request, problem)
        messages.error(request, _("未记录任何申报，请更正后重试"))
        return redirect(back)
    messages.success(
        request,
        _("已为 %(n)d 个客户记录 %(month)s 的申报（申报日期 %(day)s）")
        % {"n": len(todo), "month": format_month(month), "day": f"{filed_on:%Y-%m-%d}"},
    )
    return redirect(back)
