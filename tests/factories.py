"""Small builders for test data; valid taxpayer identifiers are computed, not copied."""

import datetime as dt
import itertools

from apps.clients.identifiers import credit_check_character, org_code_check_character
from apps.clients.models import Client
from apps.devices.models import Agent, Device, Health
from apps.periods.models import Period

_serial = itertools.count(1)


def credit_code(n: int) -> str:
    body = f"MA{n:06d}"
    first17 = "91320100" + body + org_code_check_character(body)
    return first17 + credit_check_character(first17)


def make_client(**fields) -> Client:
    n = next(_serial)
    fields.setdefault("name", f"测试客户{n}有限公司")
    fields.setdefault("taxpayer_id", credit_code(n))
    fields.setdefault("taxpayer_kind", "general")
    return Client.objects.create(**fields)


def make_agent(name=None) -> tuple[Agent, str]:
    agent = Agent(name=name or f"前置机{next(_serial)}")
    token = agent.set_new_token()
    agent.save()
    return agent, token


def autopilot_on_with_agent(avoid_busy_hours: bool = False) -> Agent:
    """The autopilot switched on (60 jobs a minute an agent) and one agent, 一号机柜, online."""
    from apps.autopilot.models import Autopilot

    settings = {"enabled": True, "avoid_busy_hours": avoid_busy_hours, "per_agent_per_minute": 60}
    Autopilot.objects.update_or_create(pk=1, defaults=settings)
    agent, _token = make_agent("一号机柜")
    agent.online = True
    agent.save()
    return agent


def unsaved_agent(pk=1, **fields) -> Agent:
    """An agent in memory only, enabled, well and online: for rules and plans that read no database."""
    fields = {"name": f"前置机{pk}", "enabled": True, "health": Health.GOOD, "online": True, **fields}
    return Agent(pk=pk, **fields)


def unsaved_device(pk=1, agent_=None, **fields) -> Device:
    """A device in memory only, present and well, on `agent_` or a new unsaved_agent."""
    fields = {"kind": "tax_disk", "number": f"5399{pk:08d}", "health": Health.GOOD, "present": True, **fields}
    return Device(pk=pk, agent=agent_ if agent_ is not None else unsaved_agent(), **fields)


def make_device(client=None, **fields) -> Device:
    n = next(_serial)
    fields.setdefault("kind", "tax_disk")
    fields.setdefault("number", f"5399{n:08d}")
    return Device.objects.create(client=client or make_client(), **fields)


def make_period(client=None, month=dt.date(2026, 10, 1), **fields) -> Period:
    fields.setdefault("deadline", dt.date(2026, 11, 16))
    return Period.objects.create(client=client or make_client(), month=month, **fields)


def agent_with_device() -> dict:
    """An agent holding one present simulated device, its client's 2026-10 period filed, and an
    API client speaking as the agent: agent, device, client, period, api."""
    from rest_framework.test import APIClient

    agent, token = make_agent()
    client = make_client()
    device = make_device(client, agent=agent, present=True, simulated=True)
    period = make_period(
        client, month=dt.date(2026, 10, 1), deadline=dt.date(2026, 11, 16), return_filed_on=dt.date(2026, 11, 3)
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    return {"agent": agent, "device": device, "client": client, "period": period, "api": api}


def make_api_key(user, days=30) -> str:
    """An API token for `user`, made without the audit event of the token page; returns the key."""
    import datetime as _dt

    from apps.accounts.models import ApiToken
    from apps.core import clock
    from apps.core.tokens import hash_token

    key = ApiToken.new_key()
    ApiToken.objects.create(
        user=user,
        name="test",
        key_hash=hash_token(key),
        prefix=key[:8],
        expires_at=clock.now() + _dt.timedelta(days=days),
    )
    return key
