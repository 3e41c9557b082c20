"""客户列表: the clients a user may see, with their devices and this month's status (exported as
shown)."""

import django_filters
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from apps.accounts.models import User
from apps.clients.models import Client, FilingFrequency, TaxpayerKind
from apps.core import clock, export
from apps.core.filters import page_of
from apps.devices.models import Device
from apps.periods.models import working_month
from apps.periods.queries import with_month_status
from apps.periods.rules import PeriodStatus


class ClientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("客户名称或纳税人识别号"))
    staff = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(role=User.Role.ACCOUNTANT).order_by("username"),
        label=gettext_lazy("负责会计"),
        empty_label=gettext_lazy("全部"),
    )
    taxpayer_kind = django_filters.ChoiceFilter(
        choices=TaxpayerKind.choices, label=gettext_lazy("纳税人类型"), empty_label=gettext_lazy("全部")
    )
    active = django_filters.ChoiceFilter(
        choices=[("1", gettext_lazy("服务中")), ("0", gettext_lazy("已停止服务"))],
        method="filter_active",
        label=gettext_lazy("服务状态"),
        empty_label=gettext_lazy("全部"),
    )

    class Meta:
        model = Client
        fields: list[str] = []

    def filter_q(self, clients, name, value):
        value = (value or "").strip()
        if not value:
            return clients
        return clients.filter(Q(name__icontains=value) | Q(taxpayer_id__icontains=value.upper()))

    def filter_active(self, clients, name, value):
        return clients.filter(active=value == "1")


def listed_clients(user, month, now):
    """The clients `user` may see, with their device count and the status of their period of
    `month` (a client without a row for it counts as nothing done yet, as on the dashboard)."""
    devices = (
        Device.objects.in_service().filter(client=OuterRef("pk")).order_by().values("client").annotate(n=Count("pk"))
    )
    return (
        with_month_status(Client.objects.visible_to(user).select_related("staff"), month, now)
        .annotate(device_count=Coalesce(Subquery(devices.values("n")), 0))
        .order_by("name", "pk")
    )


def _status(client):
    """A client no longer served has no period to work on."""
    return PeriodStatus(client.status_code) if client.active else None


def client_row(client) -> list:
    status = _status(client)
    return [
        client.name,
        client.taxpayer_id,
        client.get_taxpayer_kind_display(),
        FilingFrequency(client.filing_frequency).label,
        client.staff or "",
        client.active,
        client.device_count,
        status.label if status else "",
        client.contact_name,
        client.contact_phone,
    ]


CLIENT_EXPORT = export.Table(
    "qingka-clients",
    gettext_lazy("客户"),
    [
        gettext_lazy("客户名称"),
        gettext_lazy("纳税人识别号"),
        gettext_lazy("纳税人类型"),
        gettext_lazy("申报周期"),
        gettext_lazy("负责会计"),
        gettext_lazy("服务中"),
        gettext_lazy("设备数"),
        gettext_lazy("本期状态"),
        gettext_lazy("联系人"),
        gettext_lazy("联系电话"),
    ],
    client_row,
)


@require_safe
@login_required
def client_list(request):
    now = clock.now()
    month = working_month(timezone.localdate(now))
    filters = ClientFilter(request.GET, queryset=listed_clients(request.user, month, now))
    if response := CLIENT_EXPORT.respond(request, filters.qs):
        return response
    page = page_of(request, filters.qs)
    for client in page:
        client.status = _status(client)
    return render(request, "clients/list.html", {"filter": filters, "page": page, "month": month})
