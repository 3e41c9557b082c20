from rest_framework import serializers

from apps.accounts.fresh_code import FreshCodeSerializerMixin
from apps.clients.models import Client

from ..models import Device


class DeviceSerializer(FreshCodeSerializerMixin, serializers.ModelSerializer):
    """Setting a password asks the second factor again (`otp`; issue 27, holds/forms.ReleaseForm)."""

    certificate_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    device_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    cycle_state = serializers.SerializerMethodField()
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all())

    class Meta:
        model = Device
        fields = [
            "id",
            "kind",
            "number",
            "client",
            "sub_number",
            "agent",
            "slot",
            "simulated",
            "health",
            "certificate_password",
            "device_password",
            "present",
            "busy",
            "last_seen_at",
            "monitoring",
            "monitored_at",
            "cycle_state",
            "created_at",
            "otp",
        ]
        read_only_fields = ["present", "busy", "last_seen_at", "monitoring", "monitored_at", "created_at"]

    def get_cycle_state(self, device) -> str | None:
        state = device.cycle_state()
        return state.value if state else None

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["client"].queryset = Client.objects.visible_to(request.user)  # type: ignore[attr-defined]  # a PrimaryKeyRelatedField
        return fields

    def needs_fresh_code(self, attrs) -> bool:
        return bool(attrs.get("certificate_password") or attrs.get("device_password"))

    def update(self, instance, validated_data):
        # Passwords are write-only: leaving one out (or blank) keeps the stored one.
        for name in ("certificate_password", "device_password"):
            if not validated_data.get(name):
                validated_data.pop(name, None)
        return super().update(instance, validated_data)
