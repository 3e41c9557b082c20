"""What a heartbeat says of the agent's jobs: the ones it still works on keep their lease, the ones
it no longer lists go back to the queue, and results it gave up sending are told to a person."""

import datetime as dt

from django.conf import settings

from apps.audit import log
from apps.audit.models import Action
from apps.devices.models import Agent, Device
from apps.jobs.models import Job, JobState
from apps.jobs.upkeep import release_unlisted


def jobs_of_the_heartbeat(agent: Agent, data: dict, now: dt.datetime) -> None:
    """`agent` as it was before this heartbeat: its last_heartbeat_at is the previous one's."""
    log.record_many(parked_results(agent, data.get("parked") or [], data["hostname"]))
    renew_leases(agent, data["jobs"], now)
    release_unlisted(agent, data["jobs"], agent.last_heartbeat_at, now)


def parked_results(agent: Agent, job_ids: list[int], source: str) -> list:
    """A result the agent stopped sending because the site kept failing on it is reported once,
    in the audit log of its job, for a person to look at."""
    if not job_ids:
        return []
    told = set(
        log.AuditEvent.objects.filter(
            action=Action.JOB_RESULT_PARKED, object_id__in=[str(i) for i in job_ids]
        ).values_list("object_id", flat=True)
    )
    jobs = Job.objects.filter(pk__in=job_ids, device__agent=agent).select_related("device")
    return [
        log.build(
            Action.JOB_RESULT_PARKED,
            job,
            agent=agent,
            client_id=job.device.client_id,
            source=source,
            simulated=job.device.simulated,
            after={"state": job.state, "attempt": job.attempts},
        )
        for job in jobs
        if str(job.pk) not in told
    ]


def renew_leases(agent: Agent, job_ids: list[int], now: dt.datetime) -> int:
    """The jobs the agent says it is still working on keep their lease for another full term."""
    if not job_ids:
        return 0
    # The agent's devices as a subquery, not `device__agent=agent`: across a relation, update()
    # becomes `id IN (SELECT … jobs JOIN devices …)`, which stale statistics can plan as a nested
    # loop over every job per job (docs/scaling.md).
    return Job.objects.filter(
        pk__in=job_ids, state=JobState.RUNNING, device__in=Device.objects.filter(agent=agent).values("pk")
    ).update(lease_expires_at=now + dt.timedelta(seconds=settings.QINGKA_JOB_LEASE_SECONDS))
