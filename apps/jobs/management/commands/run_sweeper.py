from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from django_rq import get_scheduler

from apps.jobs.sweeper import SWEEP_JOB_ID, sweep


class Command(BaseCommand):
    help = "Puts the periodic sweep on rq-scheduler and runs the scheduler; `rqworker default` runs the sweeps."

    def handle(self, *args, **options):
        scheduler = get_scheduler("default", interval=1)
        # Replace an earlier definition, so a changed interval takes effect on restart.
        if SWEEP_JOB_ID in scheduler:
            scheduler.cancel(SWEEP_JOB_ID)
        scheduler.schedule(
            scheduled_time=timezone.now(),
            func=sweep,
            interval=settings.QINGKA_SWEEP_SECONDS,
            repeat=None,
            id=SWEEP_JOB_ID,
            result_ttl=settings.QINGKA_SWEEP_SECONDS * 4,
        )
        self.stdout.write(f"sweep every {settings.QINGKA_SWEEP_SECONDS}s on rq queue 'default'")
        scheduler.run()
