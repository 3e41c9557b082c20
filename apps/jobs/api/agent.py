"""The agent's calls about jobs: claim one, report its result."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.months import format_month
from apps.devices.api.agent import agent_view
from apps.invoices.services import MAX_INVOICES_PER_RESULT

from .. import pipeline


class Claim(serializers.Serializer):
    attempt = serializers.IntegerField(min_value=1)


class Result(serializers.Serializer):
    attempt = serializers.IntegerField(min_value=1)
    outcome = serializers.ChoiceField(choices=["succeeded", "failed"])
    already_done = serializers.BooleanField(default=False)
    error_code = serializers.CharField(max_length=32, allow_null=True, required=False)
    raw_code = serializers.CharField(max_length=32, allow_null=True, required=False)
    message = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    monitoring = serializers.DictField(allow_null=True, required=False)
    invoices = serializers.ListField(
        child=serializers.JSONField(), required=False, allow_null=True, max_length=MAX_INVOICES_PER_RESULT
    )
    started_at = serializers.CharField(allow_null=True, required=False)
    finished_at = serializers.CharField(allow_null=True, required=False)


def refused(error: Exception) -> Response:
    code = status.HTTP_404_NOT_FOUND if isinstance(error, pipeline.NotFound) else status.HTTP_409_CONFLICT
    return Response({"detail": str(error)}, status=code)


@extend_schema(tags=["agent"], request=Claim, responses={200: dict, 404: dict, 409: dict})
@agent_view(["POST"])
def claim(request, job_id: int):
    body = Claim(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        job = pipeline.claim(request.auth, job_id, body.validated_data["attempt"])
    except (pipeline.NotFound, pipeline.NotClaimable) as error:
        return refused(error)
    device = job.device
    return Response(
        {
            "job": {
                "id": job.pk,
                "kind": job.kind,
                "attempt": job.attempts,
                "period": format_month(job.period.month) if job.period else None,
                "query": job.query,
                "lease_expires_at": job.lease_expires_at and job.lease_expires_at.isoformat(),
                "device": {
                    "number": device.number,
                    "kind": device.kind,
                    "slot": device.slot,
                    "sub_number": device.sub_number,
                    "simulated": device.simulated,
                    "certificate_password": device.certificate_password,
                    "device_password": device.device_password,
                },
            }
        }
    )


@extend_schema(tags=["agent"], request=Result, responses={200: dict, 404: dict, 409: dict})
@agent_view(["POST"])
def result(request, job_id: int):
    body = Result(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        job = pipeline.accept_result(request.auth, job_id, body.validated_data)
    except (pipeline.NotFound, pipeline.NotClaimable) as error:
        return refused(error)
    return Response({"job": job.pk, "state": job.state})
