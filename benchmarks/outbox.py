"""#5, the agent's outbox alone, in a burst of results: 32 job threads store 2,000 results a second
for 3 s, each put() returning once its result is on disk, while the sender thread sends them (to
a site that takes every result at once) and deletes them, as the agent does. On this machine's
disk, beside PostgreSQL's.

    .venv/bin/python benchmarks/outbox.py
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import common
from qingka_agent.outbox import Outbox

THREADS, RATE, RESULTS = 32, 2000, 6000
COMMAND = ".venv/bin/python benchmarks/outbox.py"
RESULT = {"outcome": "succeeded", "already_done": False, "monitoring": {"kpjzsj": "2026-12-15", "zt": "0" * 200}}


class TakesEverything:
    """The site, answering 200 for every result of a call."""

    def results(self, results):
        return {job_id: None for job_id, _ in results}


def main():
    outbox = Outbox(common.fresh_dir(common.VAR / "outbox") / "outbox.sqlite3")
    latencies: list[float] = []
    stored = threading.Event()
    storing = True

    def put(job_id: int) -> None:
        time.sleep(max(0.0, begin + job_id / RATE - time.perf_counter()))
        start = time.perf_counter()
        outbox.put(job_id, 1, {"attempt": 1, **RESULT})
        latencies.append((time.perf_counter() - start) * 1000)
        stored.set()

    def send() -> None:
        while storing or outbox.pending():
            stored.wait(0.1)
            stored.clear()
            outbox.flush(TakesEverything())

    sender = threading.Thread(target=send)
    sender.start()
    begin = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(put, range(RESULTS)))
    storing = False
    sender.join()
    row = common.figure(
        5,
        "outbox_put_p99",
        f"One put() into the agent's outbox (the job thread waits for it), p99, results coming at {RATE}/s "
        f"while they are sent; p50 {common.percentile(latencies, 50):.1f} ms, "
        f"the slowest {max(latencies):.0f} ms",
        f"{RESULTS} results, {THREADS} threads, synchronous=FULL",
        common.percentile(latencies, 99),
        "ms",
        "reported",
        not outbox.pending(),
        COMMAND,
        p50=round(common.percentile(latencies, 50), 2),
        slowest=round(max(latencies), 1),
    )
    common.save("outbox", [row])


if __name__ == "__main__":
    main()
