import logging

from . import errors
from .text import INVISIBLE, visible

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """A view that finds the database away answers the 503 page (in the person's language), and
    a value the database refuses answers 400, whatever the DEBUG setting. Errors outside views
    reach the same pages through handler500 (apps/core/errors.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if errors.is_database_away(exception):
            logger.error("database unavailable: %s", exception)
            return errors.unavailable(request)
        if errors.is_bad_value(exception):
            logger.warning("value refused by the database: %s", exception)
            return errors.bad_request(request)
        return None


class VisibleTextMiddleware:
    """Every page is sent without the characters that reorder or hide text (apps/core/text.py):
    whatever a client's name, a note or a device's message holds, and however it reached the
    database (a form, the API, an import, the agent, an older version), a page shows it as
    plain text in its own order. One pass over the page, not a filter to remember in every
    template."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.streaming and response.get("Content-Type", "").startswith("text/html"):
            page = response.content.decode(response.charset)
            if INVISIBLE.search(page):
                response.content = visible(page).encode(response.charset)
        return response
