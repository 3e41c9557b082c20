import logging

from . import errors

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
