import django_filters
from django.utils.translation import gettext_lazy as _
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError

from apps.clients.models import Client
from apps.core.months import parse_month

from ..models import Period
from ..rules import PeriodStatus
from .serializers import PeriodSerializer


class PeriodFilter(django_filters.FilterSet):
    month = django_filters.CharFilter(method="filter_month", label=_("所属月份（YYYY-MM）"))
    status = django_filters.MultipleChoiceFilter(field_name="status_code", choices=PeriodStatus.choices, label=_("状态"))
    staff = django_filters.NumberFilter(field_name="client__staff", label=_("负责会计"))

    class Meta:
        model = Period
        fields = ["month", "status", "client", "staff"]

    def filter_month(self, queryset, name, value):
        try:
            return queryset.filter(month=parse_month(value))
        except ValueError:
            raise ValidationError({"month": [_("月份格式应为 YYYY-MM，如 2026-10")]}) from None


class PeriodViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PeriodSerializer
    filterset_class = PeriodFilter
    search_fields = ["client__name", "client__taxpayer_id"]
    ordering_fields = ["month", "deadline", "client__name"]

    def get_queryset(self):
        return (
            Period.objects.filter(client__in=Client.objects.visible_to(self.request.user))
            .select_related("client").with_status()
        )
