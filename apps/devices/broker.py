"""Each agent's own Redis user on the broker (docs/agent.md, docs/reliability.md).

An agent PC is less trusted than the site: it must take its own jobs and nothing else. It connects
to the broker as `agent-<id>`, a Redis ACL user whose keys are its own Celery queue's (the list
`agent.<id>` and its priority lists, kombu's binding sets of that queue, and the unacked hash, index
and mutex the agent keeps under `agent.<id>.` — `agent_transport_options` in the agent), with only
the commands kombu's Redis transport uses to consume. No pub/sub channel, no other key, no
SELECT: the site's rq (another database, under the site's own user) and the other agents' queues
answer NOPERM.

The password is derived from the agent's signing key, which the site keeps encrypted and which
changes with the token, so the site stores nothing more and can make the user again at any time
(`manage.py broker_users`): after a Redis without an ACL file restarted, for example. Redis keeps
only its SHA-256 (`#…`). The site's own connection (CELERY_BROKER_URL, or
QINGKA_BROKER_ADMIN_URL) must be allowed ACL SETUSER."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from django.conf import settings

from .models import Agent

logger = logging.getLogger(__name__)

USER_PREFIX = "agent-"
# What kombu's Redis transport (and redis-py's lock, for the unacked mutex) sends while consuming.
COMMANDS = (
    "ping",
    "echo",
    "client|setname",
    "brpop",
    "rpop",
    "lpush",
    "rpush",
    "llen",
    "exists",
    "del",
    "pexpire",
    "sadd",
    "srem",
    "smembers",
    "hset",
    "hget",
    "hdel",
    "zadd",
    "zrem",
    "zrevrangebyscore",
    "zrange",
    "zrangebyscore",
    "set",
    "get",
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
    "evalsha",
    "eval",
    "script|load",
)


def user_name(agent: Agent) -> str:
    return f"{USER_PREFIX}{agent.pk}"


def password(agent: Agent) -> str:
    """The agent's broker password: derived from its signing key (so from its token)."""
    return hmac.new(bytes.fromhex(agent.signing_key), b"qingka-broker-password", hashlib.sha256).hexdigest()


def key_patterns(queue: str) -> list[str]:
    """The queue `agent.5` and every key `agent.5<not a digit>…` (its priority lists, its
    `agent.5.unacked…`), never `agent.50`; kombu's binding sets of that queue."""
    return [queue, f"{queue}[^0-9]*", f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]


def acl_rules(agent: Agent) -> list[str]:
    return [
        "reset",  # no password, key, channel or command left over from before
        "on" if agent.enabled else "off",
        "#" + hashlib.sha256(password(agent).encode()).hexdigest(),
        *(f"~{pattern}" for pattern in key_patterns(agent.queue_name)),
        *(f"+{command}" for command in COMMANDS),
    ]


def agent_broker_url(agent: Agent, base_url: str | None = None) -> str:
    """The URL the agent is given: the site's broker address with the agent's own user."""
    parts = urlsplit(base_url or settings.QINGKA_AGENT_BROKER_URL or settings.CELERY_BROKER_URL)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(user_name(agent))}:{quote(password(agent))}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path or "/0", "", ""))


def admin_client() -> redis.Redis:
    return redis.Redis.from_url(settings.QINGKA_BROKER_ADMIN_URL or settings.CELERY_BROKER_URL)


def _save(client: redis.Redis) -> None:
    """Keeps the users across a restart when Redis has an ACL file (compose gives it one)."""
    try:
        client.execute_command("ACL", "SAVE")
    except redis.ResponseError:  # no ACL file: `manage.py broker_users` makes them again
        pass


def ensure_agent_user(agent: Agent, client: redis.Redis | None = None, save: bool = True) -> None:
    """Creates or replaces the agent's Redis user; called when an agent is registered or its token
    is reset (the old password stops working at once), and by `manage.py broker_users`."""
    client = client or admin_client()
    client.execute_command("ACL", "SETUSER", user_name(agent), *acl_rules(agent))
    if save:
        _save(client)


def remove_agent_user(agent_id: int, client: redis.Redis | None = None) -> None:
    client = client or admin_client()
    client.execute_command("ACL", "DELUSER", f"{USER_PREFIX}{agent_id}")
    _save(client)


def sync_agent_users(client: redis.Redis | None = None) -> tuple[int, int]:
    """Every agent's user as it should be (disabled agents' users off); users of agents that no
    longer exist removed. Returns (made, removed)."""
    client = client or admin_client()
    agents = list(Agent.objects.only("pk", "enabled", "signing_key"))
    for agent in agents:
        ensure_agent_user(agent, client, save=False)
    known = {user_name(agent) for agent in agents}
    pattern = re.compile(rf"^{re.escape(USER_PREFIX)}\d+$")
    stale = [
        name
        for name in (n.decode() if isinstance(n, bytes) else n for n in client.execute_command("ACL", "USERS"))
        if pattern.match(name) and name not in known
    ]
    if stale:
        client.execute_command("ACL", "DELUSER", *stale)
    _save(client)
    return len(agents), len(stale)


def try_ensure_agent_user(agent: Agent) -> bool:
    """ensure_agent_user for the admin: a broker that is away is logged, not an error page."""
    try:
        ensure_agent_user(agent)
    except redis.RedisError:
        logger.exception("the Redis user of agent %s was not made; run manage.py broker_users", agent.pk)
        return False
    return True
