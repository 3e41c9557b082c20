import django_filters
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.permissions import OperatorWrites, client_for_operation

from .. import requesting
from ..models import Job
from .serializers import JobRequestSerializer, JobSerializer


class JobFilter(django_filters.FilterSet):
    class Meta:
        model = Job
        fields = ["state", "kind", "origin", "device", "period", "device__client", "device__agent", "error_code"]


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """设备任务: list and read; ask for new ones; cancel what has not started; retry what failed."""

    serializer_class = JobSerializer
    permission_classes = [OperatorWrites]  # and the queryset: only jobs of clients the user may see
    filterset_class = JobFilter
    ordering_fields = ["created_at", "run_after", "finished_at"]

    def get_queryset(self):
        return Job.objects.visible_to(self.request.user).select_related("device")

    @extend_schema(request=JobRequestSerializer, responses={201: dict})
    def create(self, request):
        body = JobRequestSerializer(data=request.data, user=request.user)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            jobs, skipped = requesting.request_jobs(
                body.validated_data["kind"],
                body.devices(),
                period=body.validated_data.get("period"),
                user=request.user,
                run_after=body.validated_data.get("run_after"),
                request=request,
            )
        return Response(
            {
                "jobs": JobSerializer(jobs, many=True).data,
                "skipped": [
                    {"device": device.pk, "device_number": device.number, "reason": reason}
                    for device, reason in skipped
                ],
            },
            status=status.HTTP_201_CREATED if jobs else status.HTTP_200_OK,
        )

    @extend_schema(request=None, responses={200: JobSerializer, 409: dict})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancels a job that has not started."""
        return self._act(requesting.cancel, request)

    @extend_schema(request=None, responses={200: JobSerializer, 409: dict})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Retries a failed job, under the same rule as a new one: never a password failure, never
        a held device, never a period that is not ready."""
        return self._act(requesting.retry, request)

    def _act(self, verb, request):
        job = self.get_object()
        client_for_operation(request.user, job.device.client)
        try:
            verb(job, user=request.user, request=request)
        except requesting.Refused as refusal:
            return Response({"detail": refusal.reason}, status=status.HTTP_409_CONFLICT)
        return Response(JobSerializer(job).data)
