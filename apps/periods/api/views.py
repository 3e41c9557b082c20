import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.clients.models import Client
from apps.core import clock
from apps.core.forms import MONTH_ERROR
from apps.core.months import format_month, parse_month
from apps.core.permissions import OperatorWrites
from apps.filing_calendar.models import Source, period_deadline

from ..models import Period, working_month
from ..queries import clients_for_month, status_counts
from ..rules import PeriodStatus, window_opens
from ..services import record_return_filed
from .serializers import FileReturnSerializer, PeriodSerializer


class PeriodFilter(django_filters.FilterSet):
    month = django_filters.CharFilter(method="filter_month", label=_("所属月份（YYYY-MM）"))
    status = django_filters.MultipleChoiceFilter(
        field_name="status_code", choices=PeriodStatus.choices, label=_("状态")
    )
    staff = django_filters.NumberFilter(field_name="client__staff", label=_("负责会计"))

    class Meta:
        model = Period
        fields = ["month", "status", "client", "staff"]

    def filter_month(self, queryset, name, value):
        try:
            return queryset.filter(month=parse_month(value))
        except ValueError:
            raise ValidationError({"month": [MONTH_ERROR]}) from None


class PeriodViewSet(viewsets.ReadOnlyModelViewSet):
    """申报期: read; 管理员 and the client's 会计 record the return as filed."""

    serializer_class = PeriodSerializer
    permission_classes = [OperatorWrites]  # and the queryset: only periods of clients the user may see
    filterset_class = PeriodFilter
    search_fields = ["client__name", "client__taxpayer_id"]
    ordering_fields = ["month", "deadline", "client__name"]

    def list(self, request, *args, **kwargs):
        """A month asked for lists every active client's period of it, as the months API and the
        dashboard count them: a client without a row for it yet gets its blank one first (nothing
        done, the row the autopilot or the first step would make), so the two always agree."""
        try:
            month = parse_month(request.query_params.get("month", ""))
        except ValueError:
            pass  # no month, or the filter's own error
        else:
            clients = Client.objects.visible_to(request.user).filter(active=True)
            Period.objects.create_blank(clients, month, period_deadline(month).date)
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        return (
            Period.objects.filter(client__in=Client.objects.visible_to(self.request.user))
            .select_related("client")
            .with_status()
        )

    @extend_schema(request=FileReturnSerializer, responses={200: PeriodSerializer, 400: dict})
    @action(detail=True, methods=["post"], url_path="file-return")
    def file_return(self, request, pk=None):
        """Records the VAT return of this period as filed (date, declared sales and tax)."""
        period = self.get_object()
        body = FileReturnSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            record_return_filed(period, **body.validated_data, user=request.user, request=request)
        except DjangoValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
            raise ValidationError(
                {"non_field_errors" if field == "__all__" else field: messages for field, messages in errors.items()}
            ) from None
        return Response(PeriodSerializer(self.get_queryset().get(pk=period.pk)).data)


MonthCounts = inline_serializer(
    "MonthCounts",
    {**{code: serializers.IntegerField() for code in PeriodStatus.values}, "late": serializers.IntegerField()},
)


@extend_schema(
    tags=["months"],
    responses=inline_serializer(
        "Month",
        {
            "month": serializers.CharField(help_text="YYYY-MM"),
            "deadline": serializers.DateField(),
            "source": serializers.ChoiceField(choices=Source.choices),
            "window_opens": serializers.DateTimeField(),
            "is_working_period": serializers.BooleanField(),
            "counts": MonthCounts,
        },
    ),
)
@api_view(["GET"])
def month_summary(request, month: str):
    """One period month for the clients the caller may see: its deadline and source, when its 抄报
    window opens, and how many clients are in each status (the dashboard's numbers, from the same
    query), plus `late`. `current` is the working period."""
    working = working_month()
    if month == "current":
        chosen = working
    else:
        try:
            chosen = parse_month(month)
        except ValueError:
            raise ValidationError({"month": [MONTH_ERROR]}) from None
    deadline = period_deadline(chosen)
    counts = status_counts(clients_for_month(request.user, chosen, clock.now()))
    return Response(
        {
            "month": format_month(chosen),
            "deadline": deadline.date.isoformat(),
            "source": deadline.source,
            "window_opens": window_opens(chosen).isoformat(),
            "is_working_period": chosen == working,
            "counts": counts,
        }
    )
