"""A new web worker warms up before its first request (config/gunicorn.py post_worker_init)."""

import pytest
from django.db import connection

from apps.core.warmup import warm_up
from config import gunicorn


@pytest.mark.django_db
def test_a_new_worker_warms_up_and_connects(monkeypatch):
    connection.close()
    warm_up()
    assert connection.connection is not None
    frozen = []
    monkeypatch.setattr(gunicorn.gc, "freeze", lambda: frozen.append(True))
    gunicorn.post_worker_init(worker=None)
    assert frozen == [True]
