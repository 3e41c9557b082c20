"""The site API client: the token header and one exception per kind of answer."""

import json

import httpx
import pytest
from qingka_agent.client import (
    NotClaimable,
    NotFound,
    ServerError,
    SiteClient,
    SiteError,
    SiteUnreachable,
    Unauthorised,
)


def client_answering(status, body=None, seen=None):
    def handler(request):
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json=body or {})

    return SiteClient("https://qingka.example/", "tok-1", transport=httpx.MockTransport(handler))


def test_calls_carry_the_agent_token_and_claims_go_together():
    seen = []
    job = {"id": 7, "kind": "clear"}
    answer = {"jobs": [job], "refused": [{"id": 8, "status": 409, "detail": "running"}, {"id": 9, "status": 404}]}
    claimed, refused = client_answering(200, answer, seen).claim({7: 2, 8: 1, 9: 1})
    assert claimed == {7: job}
    assert type(refused[8]) is NotClaimable and type(refused[9]) is NotFound
    request = seen[0]
    assert request.url == "https://qingka.example/api/v1/agent/jobs/claim/"
    assert request.headers["Authorization"] == "Agent tok-1"
    assert json.loads(request.content) == {
        "jobs": [{"id": 7, "attempt": 2}, {"id": 8, "attempt": 1}, {"id": 9, "attempt": 1}]
    }


def test_results_go_together_and_each_has_its_answer():
    seen = []
    answer = {"results": [{"job": 7, "status": 200}, {"job": 8, "status": 500}, {"job": 9, "status": 400}]}
    answers = client_answering(200, answer, seen).results([(7, {"attempt": 1}), (8, {"attempt": 2}), (9, {})])
    assert answers[7] is None and type(answers[8]) is ServerError and type(answers[9]) is SiteError
    assert json.loads(seen[0].content) == {"results": [{"job": 7, "attempt": 1}, {"job": 8, "attempt": 2}, {"job": 9}]}


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
        client_answering(status).results([(7, {"attempt": 1})])
    assert "tok-1" not in str(raised.value)


def test_connection_error_is_site_unreachable():
    def handler(request):
        raise httpx.ConnectError("refused")

    client = SiteClient("https://qingka.example", "tok-1", transport=httpx.MockTransport(handler))
    with pytest.raises(SiteUnreachable):
        client.me()
