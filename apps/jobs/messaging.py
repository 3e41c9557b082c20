"""A job's message to its agent: (job id, attempt, signature) on the agent's own Celery queue,
sent after the transaction that queued the job commits; the row stays the truth, and a message a
broker lost is sent again by the sweep (upkeep.resend_lost)."""

import datetime as dt
import logging
import uuid
from collections import defaultdict
from functools import partial

from django.db import transaction

from apps.core import clock
from apps.devices.models import Agent
from apps.jobs.celery import app as celery_app

from .models import Job, JobState

logger = logging.getLogger(__name__)

TASK_NAME = "qingka.run_job"


def queue(job: Job, now: dt.datetime) -> bool:
    """One more attempt: the job is queued now and its message sent once this transaction commits."""
    moved = job.move(
        JobState.QUEUED, attempts=job.attempts + 1, queued_at=now, last_sent_at=None, lease_expires_at=None
    )
    if moved:
        transaction.on_commit(partial(send_message, job.pk))
    return moved


def send_message(job_id: int) -> bool:
    """Sends the message of a queued job to its agent's queue (see send_messages)."""
    return send_messages([job_id]) == 1


def send_messages(job_ids) -> int:
    """Sends the messages of these jobs that are still queued, through one broker connection,
    stamping last_sent_at on them, and returns how many went."""
    rows = list(
        Job.objects.filter(pk__in=job_ids, state=JobState.QUEUED, device__agent__isnull=False).values_list(
            "pk", "attempts", "device__agent_id"
        )
    )
    return send_rows(rows, stamp=True)


def send_rows(rows: list[tuple[int, int, int]], stamp: bool) -> int:
    """Sends a message per (job id, attempt, agent id) and returns how many went, stamping
    last_sent_at on them unless `stamp` is False (jobs made with their stamp: see create_jobs). A
    broker that is away is not fatal: the sweeper sends again what was never sent."""
    if not rows:
        return 0
    agents = Agent.objects.only("pk", "signing_key").in_bulk({agent_id for _, _, agent_id in rows})
    sent = defaultdict(list)  # attempt → job ids
    try:
        with celery_app.producer_or_acquire() as producer, producer.batch():
            for job_id, attempt, agent_id in rows:
                agent = agents.get(agent_id)
                if agent is None:  # removed since: its devices have no agent, their jobs wait
                    continue
                _publish(producer, agent.queue_name, [job_id, attempt, agent.sign(job_id, attempt)])
                sent[attempt].append(job_id)
    except Exception:  # the broker's many connection errors; the row stays the truth
        logger.exception(
            "%d of %d job messages not sent, the sweeper will retry",
            len(rows) - sum(map(len, sent.values())),
            len(rows),
        )
    if stamp:
        now = clock.now()
        for attempt, ids in sent.items():
            Job.objects.filter(pk__in=ids, state=JobState.QUEUED, attempts=attempt).update(last_sent_at=now)
    return sum(map(len, sent.values()))


def _publish(producer, queue_name: str, args: list) -> None:
    """One `qingka.run_job` message, as Celery's send_task would make it (its own message builder),
    without the per-call routing and configuration lookups that made 5,000 sends take seconds;
    inside producer.batch() the Redis pushes go out together. It goes straight to the agent's
    queue (the default exchange), so it needs no binding in Redis: one lost in a flush would drop
    every message silently until the process restarted."""
    task_id = str(uuid.uuid4())
    message = celery_app.amqp.as_task_v2(task_id, TASK_NAME, args=args, argsrepr=repr(args), ignore_result=True)
    producer.publish(
        message.body,
        exchange="",
        routing_key=queue_name,
        headers=message.headers,
        serializer="json",
        retry=False,
        **message.properties,
    )
