"""What a notification channel may reach (issue 27: channels kept off the network).

A channel URL is an apprise URL, and apprise can make the site send any request anywhere
(`json://127.0.0.1:8322/…?method=DELETE`, `syslog://`, `xml://`, …). So:

- Only known schemes: 企业微信 `wecombot://`, 钉钉 `dingtalk://`, 飞书 `feishu://` (apprise sends
  them to the vendors' fixed hosts), `django-mail://<address>` to an address or domain the firm
  allows (NOTIFY_MAIL_DOMAINS), and a generic webhook `json://`/`jsons://` only to a host:port an
  administrator listed (NOTIFY_WEBHOOK_HOSTS).
- Every address a channel connects to is checked after DNS resolution, when the channel is saved
  and again when it sends (`guarded()` wraps the socket connects of apprise's HTTP client):
  loopback, private, link-local, multicast, reserved and cloud metadata addresses are refused,
  and the connection goes to the address that was checked. A webhook host an administrator listed
  by its literal IP address may be private or loopback (an office relay), never link-local or
  metadata. No redirect is followed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
import urllib3.util.connection
from django.conf import settings
from django.core.validators import validate_email
from django.utils.translation import gettext as _

DJANGO_MAIL = "django-mail://"
VENDOR_SCHEMES = ("wecombot", "dingtalk", "feishu")
WEBHOOK_SCHEMES = ("json", "jsons")
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class Refused(OSError):
    """A channel or a connection the rules refuse; its message is for people (Chinese)."""


def address_allowed(address, *, listed_literal: bool = False) -> bool:
    """A global address; or, when an administrator listed this very IP address as a webhook host,
    a private or loopback one (an office relay). Never link-local, metadata, multicast or 0.0.0.0."""
    address = ipaddress.ip_address(address)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in METADATA or address.is_link_local or address.is_unspecified or address.is_multicast:
        return False
    return address.is_global or (listed_literal and (address.is_private or address.is_loopback))


def _resolve(host: str, port: int) -> list[tuple]:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise Refused(_("无法解析通知地址的主机名")) from None


def _listed_webhooks() -> set[str]:
    return {entry.strip().lower() for entry in settings.QINGKA_NOTIFY_WEBHOOK_HOSTS if entry.strip()}


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_host(host: str, port: int) -> None:
    """Raises Refused unless every address `host` resolves to may be reached."""
    literal = _is_literal(host) and f"{host}:{port}".lower() in _listed_webhooks()
    infos = _resolve(host, port)
    if not infos or not all(address_allowed(info[4][0], listed_literal=literal) for info in infos):
        raise Refused(_("通知地址指向内部网络或本机，不允许"))


def mail_allowed(address: str) -> bool:
    allowed = {entry.strip().lower() for entry in settings.QINGKA_NOTIFY_MAIL_DOMAINS if entry.strip()}
    address = address.lower()
    return address in allowed or address.rpartition("@")[2] in allowed


def url_error(url: str) -> str | None:
    """Why a channel URL may not be used, in Chinese, or None. Resolves the webhook's host."""
    if url.startswith(DJANGO_MAIL):
        recipient = url.removeprefix(DJANGO_MAIL)
        try:
            validate_email(recipient)
        except Exception:
            return _("django-mail:// 后应为一个邮箱地址")
        if not mail_allowed(recipient):
            return _("只能发邮件到事务所允许的地址或域名（设置 NOTIFY_MAIL_DOMAINS）")
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("无法识别的通知地址")
    scheme = parts.scheme.lower()
    if scheme in VENDOR_SCHEMES:
        return None
    if scheme in WEBHOOK_SCHEMES:
        host = (parts.hostname or "").lower()
        port = port or (443 if scheme == "jsons" else 80)
        if f"{host}:{port}" not in _listed_webhooks():
            return _("通用 webhook 只能发到管理员在设置中允许的主机（NOTIFY_WEBHOOK_HOSTS）")
        try:
            check_host(host, port)
        except Refused as refused:
            return str(refused)
        return None
    return _(
        "不支持的通知地址：只能使用企业微信 wecombot://、钉钉 dingtalk://、飞书 feishu://、"
        "django-mail:// 或允许的 json:// webhook"
    )


# --- at send time -------------------------------------------------------------------------------

# Process-wide, not per thread: apprise may send from its own worker threads. A web or rq worker
# process handles one request or job at a time, and only HTTP through urllib3 is checked.
_lock = threading.Lock()
_guards = 0


def _is_guarded() -> bool:
    return _guards > 0


_original_create_connection = urllib3.util.connection.create_connection


def _checked_create_connection(address, *args, **kwargs):
    """urllib3's connect, while guarded: the host is resolved once, every address checked, and the
    connection made to a checked address (no second lookup for a rebinding DNS to answer)."""
    if not _is_guarded():
        return _original_create_connection(address, *args, **kwargs)
    host, port = address
    host = host.strip("[]")
    literal = _is_literal(host) and f"{host}:{port}".lower() in _listed_webhooks()
    infos = _resolve(host, port)
    if not infos or not all(address_allowed(info[4][0], listed_literal=literal) for info in infos):
        raise Refused(_("通知地址指向内部网络或本机，不允许"))
    return _original_create_connection((infos[0][4][0], port), *args, **kwargs)


def _no_redirect(self, response):
    if _is_guarded():
        return None
    return _original_redirect_target(self, response)


_original_redirect_target = requests.Session.get_redirect_target
urllib3.util.connection.create_connection = _checked_create_connection
requests.Session.get_redirect_target = _no_redirect  # type: ignore[method-assign]


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Connections made inside the block are checked; redirects are not followed."""
    global _guards
    with _lock:
        _guards += 1
    try:
        yield
    finally:
        with _lock:
            _guards -= 1
