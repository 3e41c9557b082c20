"""Job signatures, as in docs/agent-protocol.md: the key is derived from the agent's token."""

from __future__ import annotations

import hashlib
import hmac


def signing_key(token: str) -> bytes:
    return hashlib.sha256(("qingka-job-signing:" + token).encode()).digest()


def sign(key: bytes, job_id: int, attempt: int) -> str:
    return hmac.new(key, f"{job_id}:{attempt}".encode(), hashlib.sha256).hexdigest()


def verify(key: bytes, job_id: int, attempt: int, signature: str) -> bool:
    return isinstance(signature, str) and hmac.compare_digest(sign(key, job_id, attempt).encode(), signature.encode())
