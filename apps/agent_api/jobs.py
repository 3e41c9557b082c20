"""The agent's calls about jobs: claim them, report their results."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.months import format_month
from apps.invoices.services import MAX_INVOICES_PER_RESULT, MAX_RESULT_PAGES
from apps.jobs import outcomes

from .agent import agent_view


class Result(serializers.Serializer):
    attempt = serializers.IntegerField(min_value=1)
    outcome = serializers.ChoiceField(choices=["succeeded", "failed"])
    already_done = serializers.BooleanField(default=False)
    error_code = serializers.CharField(max_length=32, allow_null=True, required=False)
    raw_code = serializers.CharField(max_length=32, allow_null=True, required=False)
    message = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    monitoring = serializers.DictField(allow_null=True, required=False)
    invoices = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        allow_null=True,
        max_length=MAX_INVOICES_PER_RESULT,
        error_messages={"max_length": gettext_lazy("一个结果（或一页）最多 {max_length} 张发票，更多的须分页回报")},
    )
    # A 发票查询 result with more invoices than one result takes comes in numbered pages (docs/agent-protocol.md).
    page = serializers.IntegerField(min_value=1, max_value=MAX_RESULT_PAGES, required=False)
    pages = serializers.IntegerField(min_value=1, max_value=MAX_RESULT_PAGES, required=False)
    started_at = serializers.CharField(allow_null=True, required=False)
    finished_at = serializers.CharField(allow_null=True, required=False)

    def validate(self, attrs):
        if ("page" in attrs) != ("pages" in attrs):
            raise ValidationError({"pages": [_("page 与 pages 须一起给出")]})
        if "page" in attrs and attrs["page"] > attrs["pages"]:
            raise ValidationError({"page": [_("页码不能大于总页数")]})
        if "page" in attrs and attrs["outcome"] != "succeeded":
            raise ValidationError({"outcome": [_("只有成功的结果才分页回报")]})
        return attrs


def too_large(item) -> tuple[int, int] | None:
    """(attempt, invoices) of a result refused for holding more invoices than one result takes."""
    if not isinstance(item, dict) or not isinstance(item.get("attempt"), int):
        return None
    invoices = item.get("invoices")
    if isinstance(invoices, list) and len(invoices) > MAX_INVOICES_PER_RESULT:
        return item["attempt"], len(invoices)
    return None


MAX_BATCH = 100  # jobs per claim or result call


class ClaimItem(serializers.Serializer):
    attempt = serializers.IntegerField(min_value=1)
    id = serializers.IntegerField(min_value=1)


class Claims(serializers.Serializer):
    jobs = serializers.ListField(child=ClaimItem(), allow_empty=False, max_length=MAX_BATCH)


class ResultItem(Result):
    job = serializers.IntegerField(min_value=1)


class Results(serializers.Serializer):
    """The items are checked one by one (ResultItem): one that does not read is refused alone."""

    results = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=MAX_BATCH)


class ResultsSchema(Results):
    # the schema spells out each result's fields
    results = serializers.ListField(child=ResultItem(), allow_empty=False, max_length=MAX_BATCH)


def refusal(error: Exception) -> tuple[int, str]:
    if isinstance(error, outcomes.NotFound):
        return status.HTTP_404_NOT_FOUND, f"job {error} is not this agent's"
    if isinstance(error, outcomes.NotClaimable):
        return status.HTTP_409_CONFLICT, str(error)
    if isinstance(error, outcomes.Unreadable):
        return status.HTTP_400_BAD_REQUEST, str(error)
    return status.HTTP_500_INTERNAL_SERVER_ERROR, "the site failed on this result"


def described(job) -> dict:
    device = job.device
    return {
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


@extend_schema(tags=["agent"], operation_id="agent_jobs_claim_many", request=Claims, responses={200: dict})
@agent_view(["POST"])
def claim_jobs(request):
    """Claims many jobs: those claimed come back with their devices' passwords, the others with
    why not (404: not this agent's, 409: not queued at that attempt)."""
    body = Claims(data=request.data)
    body.is_valid(raise_exception=True)
    claimed, refused = outcomes.claim_jobs(
        request.auth, {item["id"]: item["attempt"] for item in body.validated_data["jobs"]}
    )
    answer = []
    for job_id, error in refused.items():
        code, detail = refusal(error)
        answer.append({"id": job_id, "status": code, "detail": detail})
    return Response({"jobs": [described(job) for job in claimed], "refused": answer})


@extend_schema(tags=["agent"], operation_id="agent_jobs_results_many", request=ResultsSchema, responses={200: dict})
@agent_view(["POST"])
def report_results(request):
    """Reports many results; the answer gives each its status: 200 (applied, or applied before),
    400 (does not read, with the errors), 404, 409 (no such attempt), 500 (the site failed on it).
    A result refused for too many invoices also fails its job (outcomes.fail_too_large)."""
    body = Results(data=request.data)
    body.is_valid(raise_exception=True)
    answers, readable, oversized = {}, {}, {}
    check = ResultItem()  # one for every item: a serializer made per item copied its fields each time
    for item in body.validated_data["results"]:
        try:
            result = check.run_validation(item)
        except ValidationError as error:
            if not isinstance(item.get("job"), int):
                raise ValidationError({"results": [_("每个结果都要写明它的任务编号")]}) from None
            answers[item["job"]] = {"job": item["job"], "status": status.HTTP_400_BAD_REQUEST, "detail": error.detail}
            if oversize := too_large(item):
                oversized[item["job"]] = oversize
            continue
        readable[result.pop("job")] = result
    if oversized:
        outcomes.fail_too_large(request.auth, oversized, MAX_INVOICES_PER_RESULT)
    for job_id, outcome in outcomes.accept_results(request.auth, readable).items():
        if isinstance(outcome, Exception):
            code, detail = refusal(outcome)
            answers[job_id] = {"job": job_id, "status": code, "detail": detail}
        else:
            answers[job_id] = {"job": job_id, "status": status.HTTP_200_OK, "state": outcome.state}
    return Response({"results": list(answers.values())})
