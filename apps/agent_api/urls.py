"""The agent API, under /api/v1/agent/ (docs/agent-protocol.md)."""

from django.urls import path

from . import agent, jobs

urlpatterns = [
    path("me/", agent.me, name="agent-me"),
    path("heartbeat/", agent.heartbeat, name="agent-heartbeat"),
    path("jobs/claim/", jobs.claim_jobs, name="agent-claim-jobs"),
    path("jobs/results/", jobs.report_results, name="agent-results"),
]
