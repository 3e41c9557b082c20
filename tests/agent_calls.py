"""One job's claim or result as an agent sends it, in a batch call of one (docs/agent-protocol.md)."""

CLAIM = "/api/v1/agent/jobs/claim/"
RESULTS = "/api/v1/agent/jobs/results/"


def claim(api, job_id: int, attempt: int = 1) -> dict:
    """The claimed job with "status": 200, or its refusal: {"id", "status", "detail"}."""
    response = api.post(CLAIM, {"jobs": [{"id": job_id, "attempt": attempt}]}, format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    return {"status": 200, **answer["jobs"][0]} if answer["jobs"] else answer["refused"][0]


def report(api, job_id: int, result: dict) -> dict:
    """The site's answer to one result: {"job", "status", "state" | "detail"}."""
    response = api.post(RESULTS, {"results": [{"job": job_id, **result}]}, format="json")
    assert response.status_code == 200, response.content
    (answer,) = response.json()["results"]
    return answer
