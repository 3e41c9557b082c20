"""The site's agent API (`/api/v1/agent/`). The token goes only into the Authorization header;
a claimed job carries the device passwords, so a 200 answer is never put into a message."""

from __future__ import annotations

from typing import Any

import httpx


class SiteError(Exception):
    """The site answered with a status the protocol does not expect (e.g. 400)."""


class Unauthorised(SiteError):
    """401/403: the token is unknown or revoked."""


class NotClaimable(SiteError):
    """409: the job is not queued any more, or this is not its current attempt."""


class NotFound(SiteError):
    """404: not this agent's job."""


class SiteUnreachable(SiteError):
    """No answer, a timeout, or a 5xx: try again later."""


class ServerError(SiteUnreachable):
    """A 5xx: the site is up but failed on this call (the outbox backs off this entry alone)."""


class SiteClient:
    def __init__(self, site_url: str, token: str, timeout: float = 10, transport: httpx.BaseTransport | None = None):
        self.site_url = site_url
        self._http = httpx.Client(
            base_url=site_url.rstrip("/") + "/api/v1/agent/",
            headers={"Authorization": f"Agent {token}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise SiteUnreachable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        what = f"{method} {path}: HTTP {status}"
        if status in (401, 403):
            raise Unauthorised(f"{what}: the agent token was not accepted")
        if status != 200:
            raise refusal(status, f"{what}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise SiteUnreachable(f"{what}: the answer is not JSON") from None

    def me(self) -> dict[str, Any]:
        return self._call("GET", "me/")

    def heartbeat(
        self,
        version: str,
        hostname: str,
        devices: list[dict[str, Any]],
        jobs: list[int] | None = None,
        parked: list[int] | None = None,
        changed_only: bool = False,
    ) -> dict[str, Any]:
        body = {
            "version": version,
            "hostname": hostname,
            "devices": devices,
            "jobs": jobs or [],
            "parked": parked or [],
            "changed_only": changed_only,
        }
        return self._call("POST", "heartbeat/", body)

    def claim(self, attempts: dict[int, int]) -> tuple[dict[int, dict[str, Any]], dict[int, SiteError]]:
        """Claims jobs (job id → attempt): those claimed, and why each other one was refused."""
        answer = self._call("POST", "jobs/claim/", {"jobs": [{"id": j, "attempt": a} for j, a in attempts.items()]})
        claimed = {job["id"]: job for job in answer["jobs"]}
        return claimed, {item["id"]: refusal(item["status"], f"job {item['id']}: {item}") for item in answer["refused"]}

    def results(self, results: list[tuple[int, dict[str, Any]]]) -> dict[int, SiteError | None]:
        """Reports results (job id, result); per job None when the site has it, else why not."""
        answer = self._call("POST", "jobs/results/", {"results": [{"job": j, **r} for j, r in results]})
        return {
            item["job"]: None if item["status"] == 200 else refusal(item["status"], f"job {item['job']}: {item}")
            for item in answer["results"]
        }


def refusal(status: int, what: str) -> SiteError:
    """The exception for a status other than 200 and 401/403: of a call, or of one job in a batch."""
    if status == 409:
        return NotClaimable(what)
    if status == 404:
        return NotFound(what)
    if status >= 500:
        return ServerError(what)
    return SiteError(what)
