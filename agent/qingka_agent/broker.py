"""The Redis transport the agent takes its jobs through, hardened against what does not belong on
its queue: an item that is not a message (bytes that are not JSON, JSON that is no message
envelope) is dropped and logged, and the agent goes on with the next one. Left to kombu, the
error of decoding one such item ended the whole worker process.

Installed for the `redis://` scheme by `install()`, inside the agent's process only."""

from __future__ import annotations

import logging

from kombu import transport
from kombu.transport import redis
from kombu.transport.virtual import Empty

log = logging.getLogger(__name__)
NOT_A_MESSAGE = (ValueError, TypeError, KeyError, AttributeError)  # JSONDecodeError is a ValueError


class Channel(redis.Channel):
    _shared_client = None

    def _create_client(self, asynchronous=False):
        """One client on the channel's pool for its acks and restores, not a new one for each:
        kombu made a redis-py client (whose __init__ copies its response callbacks) twice per
        message, 13% of the agent's GIL time in the pipeline benchmark (py-spy --gil). A client is
        safe to share between threads; a new pool (after a reconnect) gets a new client."""
        if asynchronous:
            return super()._create_client(asynchronous=True)
        if self._shared_client is None or self._shared_client.connection_pool is not self.pool:
            self._shared_client = super()._create_client()
        return self._shared_client

    def _brpop_read(self, **options):
        try:
            return super()._brpop_read(**options)
        except self.connection_errors:
            raise
        except NOT_A_MESSAGE as exc:
            log.error("an item on the queue is not a message (%s: %s): dropped", type(exc).__name__, exc)
            raise Empty() from None

    def _get(self, queue, timeout=None):
        try:
            return super()._get(queue)  # the Redis channel takes no timeout
        except self.connection_errors:
            raise
        except NOT_A_MESSAGE as exc:
            log.error("an item on %s is not a message (%s: %s): dropped", queue, type(exc).__name__, exc)
            raise Empty() from None


class Transport(redis.Transport):
    Channel = Channel


def install() -> None:
    transport.TRANSPORT_ALIASES["redis"] = f"{__name__}:Transport"
