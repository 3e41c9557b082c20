"""The site's Celery app, configured from the CELERY_ settings. It only *sends* the jobs' messages
to the agents' queues (messaging.py); the site runs no Celery worker of its own (its own
background work runs on django-rq)."""

from celery import Celery

app = Celery("qingka")
app.config_from_object("django.conf:settings", namespace="CELERY")
