"""Behind the proxy, the client's address comes from X-Forwarded-For with the configured trusted
hops, for django-axes and the audit log alike (issue 27, High)."""

import pytest
from django.test import RequestFactory

from apps.audit.log import client_ip

pytestmark = pytest.mark.security


def request(xff=None, remote="10.0.0.2"):
    meta = {"REMOTE_ADDR": remote}
    if xff is not None:
        meta["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().get("/", **meta)


def test_the_address_is_taken_from_the_trusted_hops_only(settings):
    settings.QINGKA_PROXY_HOPS = 0
    assert client_ip(request("1.2.3.4")) == "10.0.0.2"  # no proxy: the header is the client's claim
    settings.QINGKA_PROXY_HOPS = 1
    assert client_ip(request("203.0.113.7")) == "203.0.113.7"
    assert client_ip(request("6.6.6.6, 203.0.113.7")) == "203.0.113.7"  # a forged entry to the left
    assert client_ip(request("not-an-ip")) == "10.0.0.2"
    assert client_ip(request()) == "10.0.0.2"
    settings.QINGKA_PROXY_HOPS = 2
    assert client_ip(request("6.6.6.6, 203.0.113.7, 10.0.0.9")) == "203.0.113.7"


def test_axes_uses_the_same_function(settings):
    assert settings.AXES_CLIENT_IP_CALLABLE == "apps.audit.log.client_ip"
