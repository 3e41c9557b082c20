from django.utils.translation import gettext as _
from rest_framework import serializers

from apps.accounts.models import User

from .. import identifiers
from ..models import Client, InvoicingMode, InvoicingModeChange, staff_error


class InvoicingModeChangeSerializer(serializers.ModelSerializer):
    """税控 / 数电 / 双轨 from a month on (YYYY-MM-01)."""

    class Meta:
        model = InvoicingModeChange
        fields = ["mode", "from_month"]


class SetInvoicingMode(serializers.Serializer):
    mode = serializers.ChoiceField(choices=InvoicingMode.choices)
    from_month = serializers.DateField(help_text="起始所属月份，该月任意一天（按该月第一天保存）")


class ClientSerializer(serializers.ModelSerializer):
    filing_frequency = serializers.CharField(read_only=True)
    invoicing_modes = InvoicingModeChangeSerializer(many=True, read_only=True)
    staff_name: serializers.StringRelatedField = serializers.StringRelatedField(source="staff", read_only=True)
    staff = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), allow_null=True, required=False, help_text="负责会计：角色为“会计”的用户"
    )

    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "taxpayer_id",
            "taxpayer_id_legacy",
            "taxpayer_kind",
            "filing_frequency",
            "filing_frequency_override",
            "invoicing_modes",
            "unlock_policy",
            "staff",
            "staff_name",
            "active",
            "contact_name",
            "contact_phone",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["taxpayer_id_legacy", "created_at", "updated_at"]

    def validate_staff(self, user):
        error = staff_error(user)
        if error:
            raise serializers.ValidationError(error)
        return user

    def validate_taxpayer_id(self, value):
        """The field's validator has checked it; uniqueness is on the normalised form."""
        normalised = identifiers.normalise(value)
        others = Client.objects.filter(taxpayer_id=normalised)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(_("已有客户使用该纳税人识别号"))
        return normalised
