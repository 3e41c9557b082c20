"""What a fresh web worker does before its first request, so that request is as fast as the rest:
Django builds its URL resolver, translation catalogues, templates and database connection lazily,
and a worker recycled after max_requests would otherwise pay for them on someone's request."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.template.loader import get_template
from django.urls import get_resolver
from django.utils import translation

logger = logging.getLogger(__name__)
TEMPLATES = ["base.html", "dashboard/index.html", "dashboard/_live.html", "clients/detail.html"]


def warm_up() -> None:
    _ = get_resolver().reverse_dict  # builds every URL pattern once
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("清卡")  # loads the catalogue
    for name in TEMPLATES:
        get_template(name)
    try:
        connection.ensure_connection()
    except DatabaseError:  # the database may come later; the first request connects then
        logger.warning("warm-up: the database does not answer yet")
