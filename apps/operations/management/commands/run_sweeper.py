import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections

from apps.operations.sweeper import sweep

logger = logging.getLogger("apps.operations.sweeper")


class Command(BaseCommand):
    help = "Runs the periodic sweep every QINGKA_SWEEP_SECONDS until stopped (a plain loop: nothing in Redis to lose)."

    def handle(self, *args, **options):
        self.stopping = False
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        interval = settings.QINGKA_SWEEP_SECONDS
        self.stdout.write(f"sweep every {interval}s")
        while not self.stopping:
            started = time.monotonic()
            try:
                close_old_connections()
                sweep()
            except Exception:  # the database or the broker away: say so, and sweep again next time
                logger.exception("sweep failed; the next one runs in %ss", interval)
                connections.close_all()  # a broken connection is opened afresh next time
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
        connections.close_all()
        self.stdout.write("sweeper stopped")

    def stop(self, signum, frame):
        self.stopping = True
