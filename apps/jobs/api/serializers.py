from django.utils.translation import gettext as _
from rest_framework import serializers

from apps.clients.models import Client
from apps.core import clock
from apps.core.months import format_month
from apps.devices.errors import error_info
from apps.devices.models import Device
from apps.jobs.rules import period_reason
from apps.periods.models import Period

from ..models import Job, JobKind


class JobSerializer(serializers.ModelSerializer):
    device_number = serializers.CharField(source="device.number", read_only=True)
    client = serializers.IntegerField(source="device.client_id", read_only=True)
    simulated = serializers.BooleanField(source="device.simulated", read_only=True)
    error_label = serializers.SerializerMethodField()
    remedy = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "origin",
            "device",
            "device_number",
            "client",
            "simulated",
            "period",
            "state",
            "run_after",
            "attempts",
            "max_attempts",
            "error_code",
            "raw_code",
            "error_message",
            "error_label",
            "remedy",
            "already_done",
            "requested_by",
            "created_at",
            "queued_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_error_label(self, job) -> str:
        return str(error_info(job.error_code).message) if job.error_code else ""

    def get_remedy(self, job) -> str:
        return str(error_info(job.error_code).remedy) if job.error_code else ""


class JobRequestSerializer(serializers.Serializer):
    """读取状态 on a device; 抄报/清卡 for a period, on one of its client's devices or on all of them."""

    kind = serializers.ChoiceField(choices=JobKind.choices)
    device = serializers.PrimaryKeyRelatedField(queryset=Device.objects.all(), required=False)
    period = serializers.PrimaryKeyRelatedField(queryset=Period.objects.all(), required=False)
    run_after = serializers.DateTimeField(required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # No user (the schema generator): no device or period is choosable.
        visible = Client.objects.visible_to(user) if user is not None else Client.objects.none()
        # Both are PrimaryKeyRelatedFields, whose querysets the stubs do not know from Field.
        self.fields["device"].queryset = Device.objects.filter(client__in=visible).select_related("agent", "client")  # type: ignore[attr-defined]
        self.fields["period"].queryset = Period.objects.filter(client__in=visible).select_related("client")  # type: ignore[attr-defined]

    def validate(self, data):
        device, period = data.get("device"), data.get("period")
        if data["kind"] == JobKind.READ_STATUS and device is None and period is None:
            raise serializers.ValidationError({"device": [_("请指定设备或申报期")]})
        if data["kind"] == JobKind.POWER_CYCLE:  # 重新上电: one device, no period
            if device is None:
                raise serializers.ValidationError({"device": [_("重新上电须指定设备")]})
            return {**data, "period": None}
        if data["kind"] == JobKind.UPLOAD_OFFLINE:  # 上传离线发票 asked by a person: one device, no period
            if device is None:
                raise serializers.ValidationError({"device": [_("上传离线发票须指定设备")]})
            return {**data, "period": None}
        if data["kind"] != JobKind.READ_STATUS and period is None:
            raise serializers.ValidationError({"period": [_("抄报与清卡须指定申报期")]})
        if device and period and device.client_id != period.client_id:
            raise serializers.ValidationError({"device": [_("设备不属于该申报期的客户")]})
        if data["kind"] != JobKind.READ_STATUS:
            # The client page's rule (apps/status_pages/client.py), so both refuse with the same reason.
            reason = period_reason(data["kind"], period, clock.now())
            if reason:
                raise serializers.ValidationError({"period": [f"{format_month(period.month)}：{reason}"]})
        return data

    def devices(self):
        device, period = self.validated_data.get("device"), self.validated_data.get("period")
        return [device] if device else list(period.client.devices.select_related("agent"))
