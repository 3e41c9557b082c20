"""gunicorn's settings for the web service (the Dockerfile's CMD): `gunicorn -c config/gunicorn.py config.wsgi`."""

import os

from config.log_config import logging_config

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 3))
accesslog = "-"
logconfig_dict = logging_config(os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO"))
