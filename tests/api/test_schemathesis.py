"""Schemathesis against the site's OpenAPI schema, staff API and agent API: a bounded number of
generated requests per operation, and every answer is no 5xx and as documented."""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_agent, make_api_key, make_client, make_device, make_period

pytestmark = [pytest.mark.security, pytest.mark.django_db]
EXAMPLES = 15  # per operation: the whole run stays within tens of seconds
# No 5xx, and every status, content type, header and body as the schema documents. (Not
# "a schema-valid request is accepted": an id that names nothing is rightly refused.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def load_schema():
    raw = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    config = SchemathesisConfig()
    # Explicit examples and random generation; not the exhaustive "coverage" phase, which alone
    # would take minutes.
    config.projects.default.phases.update(phases=["examples", "fuzzing"])
    loaded = schemathesis.openapi.from_dict(raw, config=config)
    loaded.app = get_wsgi_application()
    return loaded


schema = load_schema()


@pytest.fixture
def in_test_transaction():
    """The WSGI app is called directly: keep it from closing the test's connection after each
    request, as Django's own test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(users, in_test_transaction):
    agent, agent_token = make_agent("接口测试前置机")
    company = make_client(staff=users["owner"])
    make_device(client=company, agent=agent, present=True)
    make_period(client=company)
    return {"staff": f"Token {make_api_key(users['admin'])}", "agent": f"Agent {agent_token}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_documented(case, credentials):
    who = "agent" if case.path.startswith("/api/v1/agent/") else "staff"
    case.call_and_validate(headers={"Authorization": credentials[who]}, checks=CHECKS)
