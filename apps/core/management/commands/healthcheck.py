import json
import os
import socket

import django_rq
import redis
from django.core.management.base import BaseCommand, CommandError
from rq import Worker

from apps.core import health


def web_answers() -> bool:
    """The gunicorn of this container answers (the database and Redis are checked besides)."""
    port = os.environ.get("GUNICORN_BIND", ":8000").rpartition(":")[2]
    try:
        return health.site_answers(f"http://127.0.0.1:{port}")
    except OSError:
        return False


def rqworker_alive() -> bool:
    """An rq worker of this host (this container) is registered: its key expires unless it beats."""
    connection = django_rq.get_connection("default")
    return any(worker.hostname == socket.gethostname() for worker in Worker.all(connection=connection))


def sweeper_alive() -> bool:
    """The sweeper finished a sweep within three intervals (apps/operations/sweeper.py writes it down)."""
    return health.check("sweep")()[1]


PROCESSES = {"web": web_answers, "rqworker": rqworker_alive, "sweeper": sweeper_alive}


class Command(BaseCommand):
    help = (
        "The checks of /healthz; with --process, the site's own checks and that process is alive "
        "(the compose healthchecks). Exits 1 when not all is well."
    )

    def add_arguments(self, parser):
        parser.add_argument("--process", choices=sorted(PROCESSES), help="check this process is alive")

    def handle(self, *args, process, **options):
        body, well = health.report(health.SITE_CHECKS if process else health.CHECKS)
        if process:
            try:
                alive = PROCESSES[process]()
            except redis.RedisError:
                alive = False
            body[process] = "ok" if alive else "error"
            well = well and alive
        self.stdout.write(json.dumps(body))
        if not well:
            bad = (name for name, value in body.items() if value in ("error", "stale"))
            raise CommandError("not well: " + ", ".join(bad))
