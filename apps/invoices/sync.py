"""发票查询 jobs asked by a person: read the invoices of a month, or one invoice, from the devices."""

from apps.accounts.permissions import can_operate_client
from apps.jobs import pipeline
from apps.jobs.models import JobKind

from .lookup import devices_in_scope


def request_queries(user, client, query: dict[str, str], request=None):
    """One query job per device of `client` (or of every client) that `user` may run jobs on;
    returns (jobs, [(device, reason), …]) as pipeline.request_jobs does."""
    devices = [
        device
        for device in devices_in_scope(user, client)
        .select_related("agent", "client")
        .order_by("client__name", "number")
        if can_operate_client(user, device.client)
    ]
    return pipeline.request_jobs(JobKind.QUERY_INVOICES, devices, query=query, user=user, request=request)
