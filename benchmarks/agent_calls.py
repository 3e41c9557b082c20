"""#5, what one job costs the site: the CPU time of the agent's claim call and result call, made
in this process through Django's test client (the site's own work, without gunicorn's HTTP), for
batches of 1 job, as when jobs come one at a time, and of 100, as when 2,000 come at once.

    .venv/bin/python benchmarks/agent_calls.py
"""

import time

import common

DEVICES, ROUNDS = 300, 3
PREFIX = 33  # of the devices' numbers
DATABASE = "qingka_bench_calls"
COMMAND = ".venv/bin/python benchmarks/agent_calls.py"

common.setup(DATABASE)

from rest_framework.test import APIClient  # noqa: E402

from apps.devices.models import Device  # noqa: E402
from apps.jobs.models import Job  # noqa: E402
from apps.jobs.requesting import request_jobs  # noqa: E402


def cpu_per_call(api, devices, batch: int) -> tuple[float, float]:
    """Milliseconds of this process's CPU per claim call and per result call of `batch` jobs."""
    claim = result = 0.0
    calls = 0
    for _ in range(ROUNDS):
        jobs, _ = request_jobs("read_status", devices)
        for start in range(0, len(jobs), batch):
            chunk = jobs[start : start + batch]
            before = time.process_time()
            answer = api.post(
                "/api/v1/agent/jobs/claim/", {"jobs": [{"id": j.pk, "attempt": 1} for j in chunk]}, format="json"
            )
            middle = time.process_time()
            results = [{"job": j.pk, "attempt": 1, "outcome": "succeeded"} for j in chunk]
            answered = api.post("/api/v1/agent/jobs/results/", {"results": results}, format="json")
            claim, result = claim + middle - before, result + time.process_time() - middle
            assert len(answer.json()["jobs"]) == len(chunk) and answered.status_code == 200, answered.content
            calls += 1
    return claim / calls * 1000, result / calls * 1000


def main():
    common.fill_ukeys(DEVICES, "调用客户", 900000, PREFIX)
    Job.objects.all().delete()
    agent, token = common.make_agent("calls")
    agent.online = True
    agent.save()
    Device.objects.update(agent=agent, present=True, simulated=True)
    common.analyze()
    devices = list(Device.objects.select_related("agent", "client").order_by("pk"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    cpu_per_call(api, devices[:20], 1)  # warm up
    rows = []
    for batch in (1, 100):
        claim, result = cpu_per_call(api, devices, batch)
        rows.append(
            common.figure(
                5,
                f"agent_calls_cpu_per_job_batch_{batch}",
                f"The site's CPU per job in the agent's calls, {batch} job(s) per call: claim + result "
                f"({claim / batch:.2f} + {result / batch:.2f} ms)",
                f"{DEVICES} devices, {ROUNDS} rounds, Django's test client",
                (claim + result) / batch,
                "ms",
                "reported",
                True,
                COMMAND,
                claim_ms_per_call=round(claim, 2),
                result_ms_per_call=round(result, 2),
            )
        )
    common.flush_redis()
    common.save("agent-calls", rows)


if __name__ == "__main__":
    main()
