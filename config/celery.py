"""The site's Celery app. It only *sends* device jobs to the agents' queues; the site runs no
Celery worker of its own (its own background work runs on django-rq)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("qingka")
app.config_from_object("django.conf:settings", namespace="CELERY")
