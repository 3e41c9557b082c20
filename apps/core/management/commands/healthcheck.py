import json
import socket

import django_rq
import redis
from django.core.management.base import BaseCommand, CommandError
from rq import Worker
from rq_scheduler import Scheduler

from apps.core.health import report


def rqworker_alive() -> bool:
    """An rq worker of this host (this container) is registered: its key expires unless it beats."""
    connection = django_rq.get_connection("default")
    return any(worker.hostname == socket.gethostname() for worker in Worker.all(connection=connection))


def sweeper_alive() -> bool:
    """The sweeper's rq-scheduler has registered and not died (its key expires unless it beats)."""
    connection = django_rq.get_connection("default")
    keys = connection.keys(f"{Scheduler.redis_scheduler_namespace_prefix}*")
    return any(not connection.hexists(key, "death") for key in keys)


PROCESSES = {"rqworker": rqworker_alive, "sweeper": sweeper_alive}


class Command(BaseCommand):
    help = "The checks of /healthz, and with --process that process is alive; exits 1 when not all is well."

    def add_arguments(self, parser):
        parser.add_argument("--process", choices=sorted(PROCESSES), help="also check this process is alive")

    def handle(self, *args, process, **options):
        body, well = report()
        if process:
            try:
                alive = PROCESSES[process]()
            except redis.RedisError:
                alive = False
            body[process] = "ok" if alive else "error"
            well = well and alive
        self.stdout.write(json.dumps(body))
        if not well:
            raise CommandError("not well: " + ", ".join(name for name, value in body.items() if value == "error"))
