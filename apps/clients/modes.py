"""A client's invoicing mode (税控 / 数电 / 双轨) from a month on: one way to change it, audited,
for the client page, the API and the import, and the client's devices follow it (docs/domain.md,
"Clients without devices: 数电")."""

import datetime as dt

from django.db import transaction

from apps.audit import log
from apps.audit.models import Action
from apps.core.months import format_month, month_start
from apps.devices.models import Health

from .models import Client, InvoicingMode, InvoicingModeChange, mode_in


@transaction.atomic
def set_invoicing_mode(client: Client, mode: str, from_month: dt.date, *, user=None, request=None) -> bool:
    """From `from_month` on, `client` invoices in `mode` (until a later change). Returns whether
    anything changed; a mode the client already has in that month writes nothing."""
    mode = InvoicingMode(mode)
    from_month = month_start(from_month)
    changes = list(InvoicingModeChange.objects.select_for_update().filter(client=client))
    before = mode_in(changes, from_month)
    if before == mode:
        return False
    InvoicingModeChange.objects.update_or_create(
        client=client, from_month=from_month, defaults={"mode": mode, "created_by": user}
    )
    log.record(
        Action.CLIENT_INVOICING_MODE,
        client,
        user=user,
        request=request,
        before={"mode": before, "from_month": format_month(from_month)},
        after={"mode": str(mode), "from_month": format_month(from_month)},
    )
    _follow_devices(client, mode, from_month, user, request)
    return True


def _follow_devices(client: Client, mode: str, from_month: dt.date, user, request) -> None:
    """数电 from M retires the client's devices from M (已停用, retired_from M): they still serve the
    periods before M, then wait to be cancelled at the bureau (注销, 需要处理). Back to 税控 or 双轨,
    the devices a switch retired and no one has cancelled yet are in service again."""
    if mode == InvoicingMode.DIGITAL:
        devices = client.devices.exclude(health=Health.RETIRED)
        changes = {"health": Health.RETIRED, "retired_from": from_month}
        action = Action.DEVICE_RETIRED
    else:
        devices = client.devices.filter(health=Health.RETIRED, retired_from__isnull=False, deregistered_at__isnull=True)
        changes = {"health": Health.GOOD, "retired_from": None}
        action = Action.DEVICE_REINSTATED
    for device in devices.select_for_update():
        before = {"health": device.health, "retired_from": device.retired_from}
        for name, value in changes.items():
            setattr(device, name, value)
        device.save(update_fields=list(changes))
        log.record(action, device, user=user, request=request, before=before, after=changes)
