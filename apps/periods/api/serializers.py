from rest_framework import serializers

from apps.core.months import format_month

from ..models import Period
from ..rules import PeriodStatus


class PeriodSerializer(serializers.ModelSerializer):
    month = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    return_required = serializers.BooleanField(read_only=True)
    client_name = serializers.CharField(source="client.name", read_only=True)
    lock_estimated = serializers.SerializerMethodField(
        help_text="已锁死 estimated from the calendar: no device data yet"
    )
    late = serializers.SerializerMethodField(help_text="a step done after the deadline, or still undone once it passed")

    class Meta:
        model = Period
        fields = [
            "id",
            "client",
            "client_name",
            "month",
            "deadline",
            "status",
            "status_label",
            "return_required",
            "summary_uploaded_at",
            "return_filed_on",
            "declared_sales",
            "declared_tax",
            "cleared_at",
            "lock_estimated",
            "late",
        ]

    def get_month(self, period) -> str:
        return format_month(period.month)

    def _status(self, period) -> PeriodStatus:
        # Lists annotate the status in SQL; a single object computes it.
        code = getattr(period, "status_code", None)
        return PeriodStatus(code) if code else period.status()

    def get_status(self, period) -> str:
        return self._status(period).value

    def get_status_label(self, period) -> str:
        return str(self._status(period).label)

    def get_lock_estimated(self, period) -> bool:
        estimated = getattr(period, "lock_estimated", None)
        return bool(estimated) if estimated is not None else period.lock_is_estimate()

    def get_late(self, period) -> bool:
        return period.lateness().any


class FileReturnSerializer(serializers.Serializer):
    filed_on = serializers.DateField()
    declared_sales = serializers.DecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True)
    declared_tax = serializers.DecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True)
