import django_filters

from apps.accounts.permissions import FirmAdminWrites
from apps.core.api import AuditedModelViewSet

from ..models import Client
from .serializers import ClientSerializer


class ClientFilter(django_filters.FilterSet):
    class Meta:
        model = Client
        fields = ["taxpayer_kind", "staff", "active", "taxpayer_id_legacy"]


class ClientViewSet(AuditedModelViewSet):
    serializer_class = ClientSerializer
    permission_classes = [FirmAdminWrites]
    filterset_class = ClientFilter
    search_fields = ["name", "taxpayer_id"]
    ordering_fields = ["name", "taxpayer_id", "created_at"]
    audit_name = "client"

    def get_queryset(self):
        return Client.objects.visible_to(self.request.user).select_related("staff")
