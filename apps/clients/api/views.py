import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.audit.api import AuditedModelViewSet
from apps.audit.models import Action
from apps.core.permissions import FirmAdminWrites, can_operate_client

from ..models import Client
from ..modes import set_invoicing_mode
from .serializers import ClientSerializer, SetInvoicingMode


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
    created_action, updated_action = Action.CLIENT_CREATED, Action.CLIENT_UPDATED

    def get_queryset(self):
        return Client.objects.visible_to(self.request.user).select_related("staff").prefetch_related("invoicing_modes")

    @extend_schema(request=SetInvoicingMode, responses={200: ClientSerializer})
    @action(detail=True, methods=["post"], url_path="invoicing-mode", permission_classes=[IsAuthenticated])
    def invoicing_mode(self, request, pk=None):
        """设置开票方式: from `from_month` on the client invoices as `mode` (税控 tax_control, 数电
        digital, 双轨 dual); audited. For the firm's admins and the client's 会计."""
        client = self.get_object()
        if not can_operate_client(request.user, client):
            raise PermissionDenied(_("只有管理员和该客户的负责会计可以设置开票方式"))
        given = SetInvoicingMode(data=request.data)
        given.is_valid(raise_exception=True)
        set_invoicing_mode(client, **given.validated_data, user=request.user, request=request)
        return Response(ClientSerializer(self.get_queryset().get(pk=client.pk)).data)
