"""Channels kept off the network (issue 27, High): only known schemes, no internal address
(checked after DNS resolution and again at send time), no redirect, only 管理员, test sends
limited and answered alike whatever went wrong."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.urls import reverse

from apps.notifications import safety
from apps.notifications.delivery import channel_url_error, send
from apps.notifications.models import Channel

pytestmark = [pytest.mark.security, pytest.mark.django_db]

REFUSED = [
    "json://127.0.0.1:8322/internal/admin/delete?method=DELETE&+Authorization=x&:cmd=rm",
    "form://127.0.0.1:8322/x",
    "xml://127.0.0.1:8322/x",
    "syslog://127.0.0.1",
    "json://169.254.169.254/latest/meta-data/",
    "jsons://169.254.169.254/latest/meta-data/",
    "django-mail://anyone@evil.example",
    "json://localhost:8322/x",
    "json://10.0.0.5/x",
    "mailto://user:pw@127.0.0.1?to=a@b.c",
    "http://127.0.0.1:8322/",
    "nonsense",
]


@pytest.mark.parametrize("url", REFUSED)
def test_unsafe_channel_urls_are_refused_field_by_field_and_nothing_is_saved(url, as_role, users, settings):
    settings.QINGKA_NOTIFY_MAIL_DOMAINS = ["firm.example"]
    assert channel_url_error(url)
    page = as_role("admin").post(reverse("notifications:channels"), {"name": "渠道", "url": url})
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert not Channel.objects.exists()


def test_what_is_allowed(settings):
    settings.QINGKA_NOTIFY_MAIL_DOMAINS = ["firm.example", "boss@other.example"]
    for url in ("wecombot://key", "dingtalk://token", "feishu://token", "django-mail://kuaiji@firm.example"):
        assert channel_url_error(url) is None, url
    assert channel_url_error("django-mail://boss@other.example") is None
    assert channel_url_error("django-mail://clerk@other.example")
    # A webhook host must be listed by an administrator, and a listed name must resolve outside.
    assert channel_url_error("json://8.8.8.8:8080/hook")
    settings.QINGKA_NOTIFY_WEBHOOK_HOSTS = ["8.8.8.8:8080", "localhost:8322", "169.254.169.254:80"]
    assert channel_url_error("json://8.8.8.8:8080/hook") is None
    assert channel_url_error("json://localhost:8322/x")  # a name resolving to 127.0.0.1
    assert channel_url_error("json://169.254.169.254/latest/")  # metadata: never, even listed


class _Server(HTTPServer):
    hits: list


@pytest.fixture
def redirector(settings):
    """A listed webhook answering 307 to an internal address; records what reaches it."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.server.hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/internal")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    server.hits = []
    settings.QINGKA_NOTIFY_WEBHOOK_HOSTS = [f"127.0.0.1:{server.server_port}"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_no_redirect_is_followed(redirector):
    channel = Channel.objects.create(name="w", url=f"json://127.0.0.1:{redirector.server_port}/hook")
    with pytest.raises(RuntimeError):  # apprise: a 307 is not a success
        send(channel, "s", "b")
    assert redirector.hits == ["/hook"]  # the redirect to /internal was not followed


def test_at_send_time_the_rules_apply_again(settings, monkeypatch):
    """A channel saved when its host was allowed or resolved outside: at send time the host is
    resolved again and the connection refused (DNS now answers 127.0.0.1)."""
    settings.QINGKA_NOTIFY_WEBHOOK_HOSTS = ["hooks.example:80"]
    channel = Channel.objects.create(name="w", url="json://hooks.example/x")
    calls = []
    real = safety.socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        calls.append(host)
        if host == "hooks.example":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(safety.socket, "getaddrinfo", rebinding)
    with pytest.raises(safety.Refused):
        send(channel, "s", "b")
    # The connect guard itself refuses too (a rule check that passed and a DNS that changed after).
    with safety.guarded(), pytest.raises(OSError):
        safety.urllib3.util.connection.create_connection(("hooks.example", 80))
    # And a channel stored before the rules (not through the form) is refused at send time.
    old = Channel.objects.create(name="old", url="json://127.0.0.1:8322/internal")
    with pytest.raises(safety.Refused):
        send(old, "s", "b")


def test_a_test_send_answers_alike_for_every_failure_and_is_rate_limited(as_role, users, settings):
    settings.QINGKA_CHANNEL_TESTS_PER_HOUR = 3
    admin = as_role("admin")
    # A closed port, an internal address stored before the rules, a vendor URL that fails: one answer.
    closed = Channel.objects.create(name="a", url="json://127.0.0.1:9/x")
    settings.QINGKA_NOTIFY_WEBHOOK_HOSTS = ["127.0.0.1:9"]
    internal = Channel.objects.create(name="b", url="json://169.254.169.254/latest/")
    answers = set()
    for channel in (closed, internal, closed):
        page = admin.post(reverse("notifications:test", args=[channel.pk]), follow=True)
        answers.add(tuple(str(m) for m in page.context["messages"]))
    assert answers == {("测试消息未能送达，请检查渠道地址和密钥",)}
    limited = admin.post(reverse("notifications:test", args=[closed.pk]))
    assert limited.status_code == 429


def test_the_webhook_received_exactly_what_was_sent(webhook):
    channel = Channel.objects.create(name="w", url=webhook.url)
    send(channel, "标题", "正文")
    assert json.dumps(webhook.received, ensure_ascii=False).count("标题") == 1
