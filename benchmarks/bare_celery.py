"""A bare Celery thread-pool worker, the yardstick of the agent's memory (benchmarks/memory.py)."""

import os
import time

from celery import Celery

app = Celery("bare", broker=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
app.conf.update(task_ignore_result=True, task_acks_late=True, worker_prefetch_multiplier=1, worker_pool="threads")


@app.task(name="bare.sleep")
def sleep(seconds: float) -> None:
    time.sleep(seconds)
