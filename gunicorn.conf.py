"""gunicorn's settings for the site; gunicorn reads this file from the working directory.

Sync workers hold at most one database connection each, so workers × processes bounds what the
site asks of PostgreSQL. A worker is replaced after max_requests, so no leak can grow for long."""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", 3))
max_requests = 1000
max_requests_jitter = 100
timeout = 60
