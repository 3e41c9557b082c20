"""What the site keeps of a device's own reports."""

import datetime as dt

from .models import Device, Reading

# Fields that change at every reading without anything happening: the device's own clock.
VOLATILE = ("clock",)


def _content(monitoring: dict) -> dict:
    return {key: value for key, value in monitoring.items() if key not in VOLATILE}


def record_reading(device: Device, monitoring: dict | None, at: dt.datetime) -> Reading | None:
    """Keeps `monitoring`, read from `device` at `at`, in the device's history when it differs
    from the last reading kept (heartbeats repeat the same data every few seconds). Called
    wherever monitoring data arrive: the agent's heartbeat and a job's result."""
    if not monitoring:
        return None
    last = Reading.objects.filter(device=device).order_by("-at", "-id").values_list("monitoring", flat=True).first()
    if last is not None and _content(last) == _content(monitoring):
        return None
    return Reading.objects.create(device=device, at=at, monitoring=monitoring)
