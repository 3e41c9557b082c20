"""What agents report about devices, applied in a few statements whatever the number of devices:
the heartbeat (presence, busy, slot, inventory, readings) and the readings of job results; each
new reading is kept in the device's history (監控记录) and gives its lock facts.

A heartbeat of 600 devices is one short transaction: the devices it reports are read once, and
only what changed is written, every row in one statement (apps/core/bulk.py).

Also what a person's acts do to devices: their client's invoicing mode followed, a retired device
marked cancelled at the bureau."""

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver

from apps.audit import log
from apps.audit.models import Action
from apps.clients.models import InvoicingMode
from apps.clients.modes import invoicing_mode_set
from apps.core import clock
from apps.core.bulk import update_rows

from .models import Agent, Device, Health, InventoryRow, Reading
from .monitoring import digest, normalise

SEEN_EVERY = dt.timedelta(seconds=60)  # last_seen_at is rewritten at most this often
INVENTORY_FIELDS = ("slot", "kind", "driver", "device_number", "simulated", "usb")


def record_reading(device: Device, monitoring, at: dt.datetime) -> bool:
    """One device's monitoring data, also set on `device` (see record_readings); True when new."""
    return bool(record_readings([(device, monitoring)], at, on_objects=True))


def record_readings(readings, at: dt.datetime, on_objects: bool = False) -> list[Device]:
    """The one place a device's monitoring data is written, from heartbeats and from results.

    A reading is written only when it says something new (the device's clock moving on is not),
    all rows in one statement; a new one is checked against the one schema (monitoring.py) first,
    kept in the device's history, and read for its lock facts (lock date, unlocked since).
    `on_objects`: set every reading on its device object, new or not. Returns the devices whose
    reading was new."""
    changed = []
    for device, reported in readings:
        if not reported:
            continue
        new_digest = digest(reported)
        if new_digest == device.monitoring_digest and not on_objects:
            continue
        device.monitoring = normalise(reported)
        if new_digest != device.monitoring_digest:
            device.monitored_at, device.monitoring_digest = at, new_digest
            device.read_lock(at)
            changed.append(device)
    update_rows(
        Device,
        ["monitoring", "monitored_at", "monitoring_digest", "lock_date", "locked_reported"],
        [(d.pk, d.monitoring, d.monitored_at, d.monitoring_digest, d.lock_date, d.locked_reported) for d in changed],
    )
    Reading.objects.bulk_create([Reading(device=d, at=at, monitoring=d.monitoring) for d in changed])
    return changed


def _inventory_digest(rows: list[dict]) -> str:
    content = sorted(json.dumps([row.get(k) for k in INVENTORY_FIELDS], default=str) for row in rows)
    return hashlib.sha256("\n".join(content).encode()).hexdigest()


def _replace_inventory(agent: Agent, rows: list[dict]) -> None:
    new_digest = _inventory_digest(rows)
    if new_digest == agent.inventory_digest:
        return
    agent.inventory.all().delete()
    InventoryRow.objects.bulk_create(
        [
            InventoryRow(
                agent=agent,
                slot=row["slot"],
                kind=row.get("kind") or "",
                driver=row["driver"],
                device_number=row.get("device_number") or "",
                simulated=row.get("simulated", False),
                usb=row.get("usb"),
            )
            for row in rows
        ]
    )
    Agent.objects.filter(pk=agent.pk).update(inventory_digest=new_digest)
    agent.inventory_digest = new_digest


def mark_offline_agents(now: dt.datetime) -> int:
    """An agent that missed its heartbeats is offline; its jobs wait for it, and the sweep tells
    people from this state (apps/notifications/events.offline_agents)."""
    limit = now - dt.timedelta(seconds=settings.QINGKA_AGENT_OFFLINE_SECONDS)
    flipped = 0
    for agent in Agent.objects.filter(online=True, last_heartbeat_at__lt=limit):
        if Agent.objects.filter(pk=agent.pk, online=True, last_heartbeat_at=agent.last_heartbeat_at).update(
            online=False
        ):
            log.record(
                Action.AGENT_OFFLINE, agent, before={"online": True}, after={"online": False}, source=agent.hostname
            )
            flipped += 1
    return flipped


@transaction.atomic
def apply_heartbeat(agent: Agent, data: dict, now: dt.datetime) -> None:
    """The agent is online; the devices it reports are present in their slots, the ones it held
    before and no longer reports are missing (the jobs it lists: apps/agent_api/heartbeat.py).
    A partial heartbeat (`changed_only`) lists only the devices whose state or reading changed since
    the agent's last heartbeat, on an inventory that did not change: the others stay as they are.

    A device no agent holds yet comes to this one. A device another agent holds does not move: it
    is marked as asking to move here, and a person approves the move (admin action), so no agent
    gets a device's passwords by listing its number. Devices no client owns stay in the inventory,
    so staff can map a slot to a client."""
    Agent.objects.filter(pk=agent.pk).update(
        online=True, last_heartbeat_at=now, version=data["version"], hostname=data["hostname"]
    )
    source = data["hostname"]
    events = []
    if not agent.online:
        events.append(
            log.build(Action.AGENT_ONLINE, agent, before={"online": False}, after={"online": True}, source=source)
        )
    changed_only = data.get("changed_only", False)
    if not changed_only:
        _replace_inventory(agent, data["devices"])
    rows = {row["device_number"]: row for row in data["devices"] if row.get("device_number")}
    fields = ("agent", "present", "busy", "slot", "simulated", "last_seen_at")
    updates, readings, move_requests = [], [], []
    devices = Device.objects.filter(number__in=rows).only(
        *fields, "number", "kind", "client", "pending_agent", "monitoring_digest", "lock_date", "locked_reported"
    )
    for device in devices:
        row = rows[device.number]
        if device.agent_id not in (None, agent.pk):
            if device.pending_agent_id != agent.pk:
                move_requests.append(device.pk)
                events.append(
                    log.build(
                        Action.DEVICE_MOVE_REQUESTED,
                        device,
                        agent=agent,
                        client_id=device.client_id,
                        source=source,
                        simulated=device.simulated,
                        before={"agent_id": device.agent_id},
                        after={"agent": agent.name, "slot": row["slot"]},
                    )
                )
            continue
        appeared = not device.present or device.agent_id is None
        wanted = (agent.pk, True, row["busy"], row["slot"], row["simulated"])
        stale = device.last_seen_at is None or now - device.last_seen_at >= SEEN_EVERY
        if stale or wanted != (device.agent_id, device.present, device.busy, device.slot, device.simulated):
            updates.append((device.pk, *wanted, now if stale or appeared else device.last_seen_at))
        if appeared:
            events.append(_present_event(device, agent, row["slot"], row["simulated"], source))
        if row.get("monitoring") is not None:
            readings.append((device, row["monitoring"]))
    update_rows(Device, list(fields), updates)
    if move_requests:
        Device.objects.filter(pk__in=move_requests).update(pending_agent=agent)
    record_readings(readings, now)
    missing = (
        []
        if changed_only
        else list(
            Device.objects.filter(agent=agent, present=True)
            .exclude(number__in=rows)
            .only("pk", "number", "kind", "client_id", "slot", "simulated")
        )
    )
    if missing:
        Device.objects.filter(pk__in=[d.pk for d in missing]).update(present=False, busy=False)
        events += [
            log.build(
                Action.DEVICE_MISSING,
                device,
                agent=agent,
                client_id=device.client_id,
                source=source,
                simulated=device.simulated,
                before={"slot": device.slot},
                after={"present": False},
            )
            for device in missing
        ]
    log.record_many(events)


def _present_event(device: Device, agent: Agent, slot: str, simulated: bool, source: str):
    """The audit event of a device found in `agent`'s cabinet, at `slot` (`source`: its host)."""
    return log.build(
        Action.DEVICE_PRESENT,
        device,
        agent=agent,
        client_id=device.client_id,
        source=source,
        simulated=simulated,
        after={"agent": agent.name, "slot": slot},
    )


@transaction.atomic
def approve_move(device: Device, user, request=None) -> bool:
    """A person lets the device go to the agent that asked for it; its passwords go there from now."""
    device = Device.objects.select_for_update(of=("self",)).select_related("agent", "pending_agent").get(pk=device.pk)
    if device.pending_agent is None:
        return False
    before = {"agent": device.agent.name if device.agent else None}
    holder = device.pending_agent
    device.agent, device.pending_agent, device.busy = holder, None, False
    # The holder asked for the device by listing it in a full heartbeat, and it sends a partial one
    # only while the set of its devices stays the same: so, online, it holds the device now. Else
    # the device would show as missing until the holder's next full heartbeat, up to a minute away.
    listed = holder.inventory.filter(device_number=device.number).first() if holder.online else None
    device.present = listed is not None
    if listed:
        device.slot, device.simulated, device.last_seen_at = listed.slot, listed.simulated, holder.last_heartbeat_at
    device.save(update_fields=["agent", "pending_agent", "busy", "present", "slot", "simulated", "last_seen_at"])
    after = {"agent": device.agent.name}
    log.record(Action.DEVICE_MOVE_APPROVED, device, user=user, request=request, before=before, after=after)
    if listed:  # the holder's heartbeats will not find it "appeared" now: its arrival is told here
        _present_event(device, holder, listed.slot, listed.simulated, holder.hostname).save()
    return True


def mark_deregistered(device: Device, *, user, request=None) -> bool:
    """已注销: the device a switch to 数电 retired is cancelled at the bureau; False (nothing written)
    for any other device. Audited."""
    now = clock.now()
    marked = Device.objects.filter(
        pk=device.pk, health=Health.RETIRED, retired_from__isnull=False, deregistered_at__isnull=True
    ).update(deregistered_at=now)
    if marked:
        device.deregistered_at = now
        log.record(Action.DEVICE_DEREGISTERED, device, user=user, request=request, after={"deregistered_at": now})
    return bool(marked)


@receiver(invoicing_mode_set)
def follow_invoicing_mode(sender, client, mode: str, from_month: dt.date, user, request, **kwargs) -> None:
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
