"""A client's invoicing mode (税控 / 数电 / 双轨) from a month on: one way to change it, audited,
for the client page, the API and the import, and the client's devices follow it (docs/domain.md,
"Clients without devices: 数电")."""

import datetime as dt

from django.db import transaction
from django.dispatch import Signal

from apps.audit import log
from apps.audit.models import Action
from apps.core.months import format_month, month_start

from .models import Client, InvoicingMode, InvoicingModeChange, mode_in

# Sent inside set_invoicing_mode's transaction when a mode changed, for the client's devices to
# follow it (apps/devices/services.follow_invoicing_mode): the clients sit below the devices and do
# not import them. Arguments: client, mode, from_month, user, request.
invoicing_mode_set = Signal()


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
    invoicing_mode_set.send(Client, client=client, mode=mode, from_month=from_month, user=user, request=request)
    return True
