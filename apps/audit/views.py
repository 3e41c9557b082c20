"""操作日志: the events the user may see, filtered, paged and exported. Read-only by design."""

import django_filters
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from apps.core import export
from apps.core.filters import ClientSearchFilter, DateRangeForm, date_range, page_of

from .display import action_label, full, readable_changes
from .models import Action, AuditEvent


class AuditFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(label=_("操作"), empty_label=_("全部"))
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains", label=_("操作者"))
    client = ClientSearchFilter()
    simulated = django_filters.ChoiceFilter(
        choices=[("1", _("仅模拟设备")), ("0", _("仅真实设备"))],
        method="filter_simulated",
        label=_("模拟设备"),
        empty_label=_("全部"),
    )
    date_from, date_to = date_range("created_at")

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = DateRangeForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every known action, and any other code the log holds (shown raw).
        codes = set(Action.values) | set(self.queryset.order_by().values_list("action", flat=True).distinct())
        self.filters["action"].extra["choices"] = sorted(
            ((code, action_label(code)) for code in codes), key=lambda c: c[0]
        )

    def filter_simulated(self, queryset, name, value):
        return queryset.filter(simulated=value == "1")


HEADERS = [
    _("时间"),
    _("操作者"),
    _("操作"),
    _("操作代码"),
    _("对象类型"),
    _("对象编号"),
    _("对象"),
    _("客户"),
    _("纳税人识别号"),
    _("来源"),
    _("模拟设备"),
    _("变更前"),
    _("变更后"),
]


def export_row(event: AuditEvent) -> list:
    client = event.client
    return [
        event.created_at,
        event.actor_label,
        action_label(event.action),
        event.action,
        event.object_type,
        event.object_id,
        event.object_label,
        client.name if client else "",
        client.taxpayer_id if client else "",
        event.source,
        event.simulated,
        full(event.before),
        full(event.after),
    ]


EXPORT = export.Table("qingka-audit", _("操作日志"), HEADERS, export_row)


@require_safe
@login_required
def event_list(request):
    filters = AuditFilter(request.GET, queryset=AuditEvent.objects.visible_to(request.user).select_related("client"))
    if response := EXPORT.respond(request, filters.qs):
        return response
    page = page_of(request, filters.qs)
    for event in page:
        event.label = action_label(event.action)
        event.changes = readable_changes(event.object_type, event.before, event.after)
    return render(request, "audit/list.html", {"filter": filters, "page": page})
