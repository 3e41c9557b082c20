"""The site as deployed behind its reverse proxy (issue 27, High): gunicorn serving it with
BEHIND_PROXY=1, reached only through a proxy that appends the client's address to
X-Forwarded-For. Guesses at random names from attackers' addresses never lock out the admin, who
signs in from another address; the audit log names the forwarded addresses, not the proxy's. A
notification channel pointing at the loopback, tested through the live site, is refused with the
one message every failure gets, and nothing connects to the loopback."""

import http.client
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.demo.stack import free_port
from apps.notifications.models import Channel
from tests.conftest import TEST_REDIS_URL

from .conftest import database_url
from .processes import BIN, Process, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.security]
CLIENT_HEADER = "X-Test-Client"  # which client address the proxy is to see this request from


def reverse_proxy(upstream_port: int) -> ThreadingHTTPServer:
    """A tiny proxy as nginx is set up for the site: it appends the client's address to whatever
    X-Forwarded-For the client sent. Clients here all come from 127.0.0.1, so the test names the
    address the proxy is to see in CLIENT_HEADER, which the proxy takes off."""

    class Forward(BaseHTTPRequestHandler):
        def forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", CLIENT_HEADER.lower())}
            peer = self.headers.get(CLIENT_HEADER, self.client_address[0])
            forwarded = self.headers.get("X-Forwarded-For")
            headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            upstream.close()

        do_GET = do_POST = forward

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def site_behind_proxy(published_deadlines, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": TEST_REDIS_URL,
        "BEHIND_PROXY": "1",
        "SECURE_HTTPS": "0",
        "DEBUG": "1",  # static files from the finders: no collectstatic for a test
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
    }
    gunicorn = Process("gunicorn", [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi"], env, tmp_path)
    gunicorn.start()
    proxy = reverse_proxy(port)

    def answers():
        try:
            return httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, timeout=60, what="gunicorn")
        yield f"http://127.0.0.1:{proxy.server_address[1]}"
    finally:
        proxy.shutdown()
        gunicorn.stop()
        print(gunicorn.log()[-4000:])


def browser(url: str, address: str) -> httpx.Client:
    """A person at `address`, as the proxy sees them."""
    return httpx.Client(base_url=url, timeout=30, headers={CLIENT_HEADER: address})


def csrf(http: httpx.Client, path: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', http.get(path).text).group(1)


def log_in(http: httpx.Client, username: str, password: str) -> httpx.Response:
    token = csrf(http, "/accounts/login/")
    return http.post(
        "/accounts/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token}
    )


def test_attackers_behind_the_proxy_never_lock_out_the_admin_and_a_loopback_channel_is_refused(site_behind_proxy):
    # Hashed as the site hashes (the tests' own settings hash with MD5, which the site does not take).
    hashed = PBKDF2PasswordHasher().encode("pw-admin-1", PBKDF2PasswordHasher().salt())
    User.objects.create(username="admin", password=hashed, role=User.Role.ADMIN, display_name="管理员甲")
    attackers = [browser(site_behind_proxy, address) for address in ("203.0.113.66", "203.0.113.67")]
    for attacker in attackers:
        attacker.headers["X-Forwarded-For"] = "10.0.0.1"  # a forged entry, left of the proxy's
        for n in range(6):
            assert log_in(attacker, f"random-{n}", "guess").status_code in (200, 429)
        # The attacker's own address is locked out, even with the admin's right password.
        assert log_in(attacker, "admin", "pw-admin-1").status_code == 429

    admin = browser(site_behind_proxy, "198.51.100.20")
    assert log_in(admin, "admin", "pw-admin-1").status_code == 302
    assert admin.get("/").status_code == 200

    sources = set(AuditEvent.objects.filter(action="account.login_failed").values_list("source", flat=True))
    assert sources == {"203.0.113.66", "203.0.113.67"}
    locked = {event.after["ip_address"] for event in AuditEvent.objects.filter(action="account.locked_out")}
    assert locked == {"203.0.113.66", "203.0.113.67"}
    assert AuditEvent.objects.get(action="account.logged_in").source == "198.51.100.20"

    # A channel into the loopback: the form refuses it, and one stored anyway (saved before the
    # rules, or a host whose DNS changed since) is refused at send time, with the generic message.
    connections = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    loopback = f"json://127.0.0.1:{listener.getsockname()[1]}/internal/admin/delete?method=DELETE"
    token = csrf(admin, "/notifications/channels/")
    refused = admin.post(
        "/notifications/channels/", data={"name": "内网", "url": loopback, "csrfmiddlewaretoken": token}
    )
    assert refused.status_code == 200 and "NOTIFY_WEBHOOK_HOSTS" in refused.text
    assert not Channel.objects.exists()
    channel = Channel.objects.create(name="内网", url=loopback, events=[])
    answer = admin.post(
        f"/notifications/channels/{channel.pk}/test/",
        data={"csrfmiddlewaretoken": token},
        follow_redirects=True,
    )
    try:
        while True:
            connections.append(listener.accept())
    except (TimeoutError, OSError):
        pass
    listener.close()
    assert answer.status_code == 200 and "测试消息未能送达，请检查渠道地址和密钥" in answer.text
    assert connections == []
