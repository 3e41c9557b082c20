"""The agent's own calls about itself: who am I, and the heartbeat with its inventory."""

import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, parser_classes, permission_classes
from rest_framework.response import Response

from apps.core import clock
from apps.devices import services
from apps.devices.models import Agent, DeviceKind
from apps.invoices.services import MAX_INVOICES_PER_RESULT, MAX_RESULT_PAGES

from .auth import AgentTokenAuthentication, IsAgent
from .clean import AgentJSONParser
from .heartbeat import jobs_of_the_heartbeat

KINDS = tuple(DeviceKind.values)
NUMBER = re.compile(r"\d{12}")


def agent_view(methods):
    """An agent API view: agent token only, never a user's session or token; its JSON cleaned of
    NUL and lone surrogates before anything reads it (clean.py)."""

    def wrap(view):
        return api_view(methods)(
            parser_classes([AgentJSONParser])(
                authentication_classes([AgentTokenAuthentication])(permission_classes([IsAgent])(view))
            )
        )

    return wrap


def describe(agent: Agent) -> dict:
    return {
        "id": agent.pk,
        "name": agent.name,
        "queue": agent.queue_name,
        "lease_seconds": settings.QINGKA_JOB_LEASE_SECONDS,
        "partial_heartbeats": True,  # agents from 0.3 send them only to a site that says so
        # agents from 0.4 send a bigger 发票查询 result in pages of this many invoices only to a site that says so
        "result_pages": {"invoices": MAX_INVOICES_PER_RESULT, "pages": MAX_RESULT_PAGES},
    }


@extend_schema(tags=["agent"], responses={200: dict})
@agent_view(["GET"])
def me(request):
    return Response(describe(request.auth))


class InventoryRow(serializers.Serializer):
    """One row of the inventory, as documented; checked by inventory_row() (600 rows through a
    DRF serializer cost more than the rest of the heartbeat)."""

    slot = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=KINDS, allow_null=True)
    driver = serializers.CharField(max_length=32)
    device_number = serializers.RegexField(r"^\d{12}$", allow_null=True, required=False)
    simulated = serializers.BooleanField(default=False)
    busy = serializers.BooleanField(default=False)
    usb = serializers.DictField(allow_null=True, required=False)
    # Checked by apps/devices/monitoring.py, which keeps what it cannot read instead of refusing it.
    monitoring = serializers.JSONField(allow_null=True, required=False)


def inventory_row(row) -> dict:
    """The checks of InventoryRow, done by hand; ValidationError names the fields that fail."""
    if not isinstance(row, dict):
        raise serializers.ValidationError(_("应为对象"))
    errors: dict[str, Any] = {}  # field → its messages
    text = {name: row.get(name) for name in ("slot", "driver")}
    for name, limit in (("slot", 64), ("driver", 32)):
        value = text[name]
        if not isinstance(value, str) or not value or len(value) > limit:
            errors[name] = [_("应为不超过 %(n)d 个字符的文本") % {"n": limit}]
    if row.get("kind") not in (*KINDS, None):
        errors["kind"] = [_("设备类型无效")]
    number = row.get("device_number")
    if number is not None and not (isinstance(number, str) and NUMBER.fullmatch(number)):
        errors["device_number"] = [_("设备编号应为12位数字")]
    for name in ("simulated", "busy"):
        if not isinstance(row.get(name, False), bool):
            errors[name] = [_("应为 true 或 false")]
    if row.get("usb") is not None and not isinstance(row["usb"], dict):
        errors["usb"] = [_("应为对象")]
    if errors:
        raise serializers.ValidationError(errors)
    return {
        "slot": text["slot"],
        "kind": row.get("kind"),
        "driver": text["driver"],
        "device_number": number,
        "simulated": row.get("simulated", False),
        "busy": row.get("busy", False),
        "usb": row.get("usb"),
        "monitoring": row.get("monitoring"),
    }


class Heartbeat(serializers.Serializer):
    version = serializers.CharField(max_length=32, allow_blank=True)
    hostname = serializers.CharField(max_length=128, allow_blank=True)
    devices = serializers.ListField(max_length=5000)
    changed_only = serializers.BooleanField(
        default=False,
        help_text="devices lists only the devices whose state or reading changed since the last heartbeat; "
        "the inventory is the same",
    )
    jobs = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=10000,
        help_text="jobs the agent has claimed and not yet reported: their leases run on, and a running job "
        "not listed goes back to the queue",
    )
    parked = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=10000,
        help_text="jobs whose result the site kept failing on: parked in the agent's outbox",
    )

    def validate_devices(self, rows):
        checked: list[dict] = []
        errors: dict[Any, Any] = {}  # row index → its field errors
        for index, row in enumerate(rows):
            try:
                checked.append(inventory_row(row))
            except serializers.ValidationError as error:
                errors[index] = error.detail
        if errors:
            raise serializers.ValidationError(errors)
        return checked


class HeartbeatSchema(Heartbeat):
    devices = InventoryRow(many=True)  # type: ignore[assignment]  # the schema spells out the rows


@extend_schema(tags=["agent"], request=HeartbeatSchema, responses={200: dict})
@agent_view(["POST"])
def heartbeat(request):
    body = Heartbeat(data=request.data)
    body.is_valid(raise_exception=True)
    now = clock.now()
    with transaction.atomic():
        # Its jobs before its devices: the order a result takes them in (outcomes locks the jobs,
        # then writes their devices' readings). The other way round, a heartbeat and a result of
        # the same device could each wait on the other, and PostgreSQL would end one (a 503).
        jobs_of_the_heartbeat(request.auth, body.validated_data, now)
        services.apply_heartbeat(request.auth, body.validated_data, now)
    return Response({"agent": describe(request.auth), "server_time": now.isoformat()})
