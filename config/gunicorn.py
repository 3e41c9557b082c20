"""gunicorn's settings for the web service (the Dockerfile's CMD): `gunicorn -c config/gunicorn.py config.wsgi`.

Sync workers hold at most one database connection each, so workers × processes bounds what the
site asks of PostgreSQL. A worker is replaced after max_requests, so no leak can grow for long; not
sooner, since each agent call is a request and a new worker loads Django and warms up anew."""

import gc
import os

from config.log_config import logging_config

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 3))
max_requests = 10000
max_requests_jitter = 1000
timeout = 60
accesslog = "-"
logconfig_dict = logging_config(os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO"))


def post_worker_init(worker):
    """A new worker warms up (apps/core/warmup.py), then freezes what Django built: it stays for the
    worker's life, and the garbage collector no longer walks it at every full collection. Cold
    workers and those walks made p95 several times the median (benchmarks/heartbeat.py)."""
    from apps.core.warmup import warm_up

    warm_up()
    gc.freeze()
