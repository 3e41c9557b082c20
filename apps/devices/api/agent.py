"""The agent's own calls about itself: who am I, and the heartbeat with its inventory."""

from django.conf import settings
from django.db import models, transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response

from apps.audit import log
from apps.core import clock

from ..auth import AgentTokenAuthentication, IsAgent
from ..models import Agent, Device


def agent_view(methods):
    """An agent API view: agent token only, never a user's session or token."""

    def wrap(view):
        return api_view(methods)(
            authentication_classes([AgentTokenAuthentication])(permission_classes([IsAgent])(view))
        )

    return wrap


def describe(agent: Agent) -> dict:
    return {
        "id": agent.pk,
        "name": agent.name,
        "queue": agent.queue_name,
        "lease_seconds": settings.QINGKA_JOB_LEASE_SECONDS,
    }


@extend_schema(tags=["agent"], responses={200: dict})
@agent_view(["GET"])
def me(request):
    return Response(describe(request.auth))


class InventoryRow(serializers.Serializer):
    slot = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=["golden_tax_disk", "tax_disk", "ukey"], allow_null=True)
    driver = serializers.CharField(max_length=32)
    device_number = serializers.RegexField(r"^\d{12}$", allow_null=True, required=False)
    simulated = serializers.BooleanField(default=False)
    busy = serializers.BooleanField(default=False)
    usb = serializers.DictField(allow_null=True, required=False)
    monitoring = serializers.DictField(allow_null=True, required=False)


class Heartbeat(serializers.Serializer):
    version = serializers.CharField(max_length=32, allow_blank=True)
    hostname = serializers.CharField(max_length=128, allow_blank=True)
    devices = InventoryRow(many=True)


@extend_schema(tags=["agent"], request=Heartbeat, responses={200: dict})
@agent_view(["POST"])
def heartbeat(request):
    body = Heartbeat(data=request.data)
    body.is_valid(raise_exception=True)
    apply_heartbeat(request.auth, body.validated_data)
    return Response({"agent": describe(request.auth), "server_time": clock.now().isoformat()})


@transaction.atomic
def apply_heartbeat(agent: Agent, data: dict) -> None:
    """The agent is online; the devices it reports are present in their slots, the ones it held
    before and no longer reports are missing. Devices it reports that no client owns yet stay in
    its inventory, so staff can map a slot to a client."""
    now = clock.now()
    was_online = agent.online
    Agent.objects.filter(pk=agent.pk).update(
        online=True,
        last_heartbeat_at=now,
        version=data["version"],
        hostname=data["hostname"],
        inventory=data["devices"],
    )
    if not was_online:
        log.record("agent.online", agent, before={"online": False}, after={"online": True}, source=data["hostname"])
    rows = {row["device_number"]: row for row in data["devices"] if row.get("device_number")}
    # A device moves to this agent only from no agent or an offline one: an agent never takes a
    # device another online agent holds (it stays in this agent's inventory for staff to see).
    claimable = Device.objects.filter(number__in=rows).filter(
        models.Q(agent__isnull=True) | models.Q(agent=agent) | models.Q(agent__online=False)
    )
    for device in claimable.select_related("agent"):
        row = rows[device.number]
        moved = device.agent_id != agent.pk
        changes = {
            "agent": agent,
            "slot": row["slot"],
            "present": True,
            "busy": row["busy"],
            "simulated": row["simulated"],
            "last_seen_at": now,
        }
        appeared = not device.present or moved
        for name, value in changes.items():
            setattr(device, name, value)
        fields = list(changes) + (device.take_reading(row["monitoring"], now) if row.get("monitoring") else [])
        device.save(update_fields=fields)
        if appeared:
            log.record(
                "device.present",
                device,
                agent=agent,
                source=data["hostname"],
                simulated=device.simulated,
                after={"agent": agent.name, "slot": row["slot"]},
            )
    for device in Device.objects.filter(agent=agent, present=True).exclude(number__in=rows):
        Device.objects.filter(pk=device.pk, present=True).update(present=False, busy=False)
        log.record(
            "device.missing",
            device,
            agent=agent,
            source=data["hostname"],
            simulated=device.simulated,
            before={"slot": device.slot},
            after={"present": False},
        )
