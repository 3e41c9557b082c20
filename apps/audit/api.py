from rest_framework import mixins, viewsets

from apps.audit import log
from apps.audit.models import Action


class AuditedModelViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """List, create, read and update; every write goes to the audit log with before and after."""

    created_action: Action
    updated_action: Action

    def perform_create(self, serializer):
        obj = serializer.save()
        log.record(self.created_action, obj, request=self.request, after=self.audit_data(obj))

    def perform_update(self, serializer):
        before = self.audit_data(serializer.instance)
        obj = serializer.save()
        log.record(self.updated_action, obj, request=self.request, before=before, after=self.audit_data(obj))

    def audit_data(self, obj):
        """What the API shows of the object, so secrets never reach the audit log."""
        return self.get_serializer(obj).data
