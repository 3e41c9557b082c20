"""Jobs as the screens list them beside their clients."""

from django.db.models import F, OuterRef, Subquery

from apps.clients.models import Client
from apps.jobs.models import Job


def attach_last_jobs(clients) -> None:
    """Sets `last_job` on each client of a page, in one query whose subquery runs for the page's
    clients only (as an annotation of the list it ran for every row skipped on the way to a deep
    page)."""
    clients = list(clients)
    last_job = (
        Job.objects.cycle_work().filter(device__client=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    )
    last_ids = Client.objects.filter(pk__in=[c.pk for c in clients]).annotate(job=Subquery(last_job)).values("job")
    jobs = {
        job.client_id: job for job in Job.objects.filter(pk__in=last_ids).annotate(client_id=F("device__client_id"))
    }
    for client in clients:
        client.last_job = jobs.get(client.pk)
