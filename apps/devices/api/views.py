import django_filters

from apps.audit.api import AuditedModelViewSet
from apps.audit.models import Action
from apps.clients.models import Client
from apps.core.permissions import FirmAdminWrites

from ..models import Device
from .serializers import DeviceSerializer


class DeviceFilter(django_filters.FilterSet):
    class Meta:
        model = Device
        fields = ["kind", "client", "agent", "health", "present", "simulated"]


class DeviceViewSet(AuditedModelViewSet):
    serializer_class = DeviceSerializer
    permission_classes = [FirmAdminWrites]
    filterset_class = DeviceFilter
    search_fields = ["number", "client__name", "client__taxpayer_id", "slot"]
    ordering_fields = ["number", "client__name", "monitored_at"]
    created_action, updated_action = Action.DEVICE_CREATED, Action.DEVICE_UPDATED

    def get_queryset(self):
        return Device.objects.filter(client__in=Client.objects.visible_to(self.request.user)).select_related(
            "client", "agent"
        )
