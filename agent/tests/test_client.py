"""The site API client: the token header and one exception per kind of answer."""

import json

import httpx
import pytest
from qingka_agent.client import NotClaimable, NotFound, SiteClient, SiteError, SiteUnreachable, Unauthorised


def client_answering(status, body=None, seen=None):
    def handler(request):
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json=body or {})

    return SiteClient("https://qingka.example/", "tok-1", transport=httpx.MockTransport(handler))


def test_calls_carry_the_agent_token():
    seen = []
    job = {"id": 7, "kind": "clear"}
    assert client_answering(200, {"job": job}, seen).claim(7, 2) == job
    request = seen[0]
    assert request.url == "https://qingka.example/api/v1/agent/jobs/7/claim/"
    assert request.headers["Authorization"] == "Agent tok-1"
    assert json.loads(request.content) == {"attempt": 2}


@pytest.mark.parametrize(
    "status, error",
    [
        (401, Unauthorised),
        (403, Unauthorised),
        (409, NotClaimable),
        (404, NotFound),
        (500, SiteUnreachable),
        (503, SiteUnreachable),
        (400, SiteError),
    ],
)
def test_statuses_map_to_exceptions(status, error):
    with pytest.raises(error) as raised:
        client_answering(status).result(7, {"attempt": 1})
    assert "tok-1" not in str(raised.value)


def test_connection_error_is_site_unreachable():
    def handler(request):
        raise httpx.ConnectError("refused")

    client = SiteClient("https://qingka.example", "tok-1", transport=httpx.MockTransport(handler))
    with pytest.raises(SiteUnreachable):
        client.me()
