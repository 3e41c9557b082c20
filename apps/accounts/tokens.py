"""API tokens of people: issued on the token page (shown once), sent as `Authorization: Token
<key>`, refused once expired or revoked. Changing a password revokes all of a user's tokens."""

import datetime as dt

from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock
from apps.core.tokens import hash_token

from .models import ApiToken

VALID_DAYS = [(30, _("30 天")), (90, _("90 天")), (365, _("365 天"))]
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_used_at is written at most this often


def issue(user, name: str, days: int, request=None) -> tuple[ApiToken, str]:
    """A new token and its key; the key is never stored and cannot be shown again."""
    key = ApiToken.new_key()
    now = clock.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=hash_token(key),
        prefix=key[:8],
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    log.record(
        Action.API_TOKEN_CREATED,
        token,
        user=user,
        request=request,
        after={"name": name, "expires_at": token.expires_at},
    )
    return token, key


def revoke(token: ApiToken, user=None, request=None) -> bool:
    if token.revoked_at is not None:
        return False
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    log.record(
        Action.API_TOKEN_REVOKED,
        token,
        user=user,
        request=request,
        before={"revoked_at": None},
        after={"revoked_at": token.revoked_at},
    )
    return True


# Sent by revoke_all for the other secrets that read as the user, which apps above this one keep
# (the calendar feed's link: apps/filing_calendar/apps.py). Argument: user.
credentials_revoked = Signal()


def revoke_all(user, reason: str) -> int:
    """Every active token of `user`, at once (one audit event), and every other secret that reads
    the user's clients and deadlines as the tokens do (credentials_revoked; issue 27)."""
    now = clock.now()
    revoked = ApiToken.objects.filter(user=user).active(now).update(revoked_at=now)
    if revoked:
        log.record(Action.API_TOKEN_REVOKED_ALL, user, after={"reason": reason, "tokens": revoked})
    credentials_revoked.send(ApiToken, user=user)
    return revoked


class ApiTokenAuthentication(authentication.TokenAuthentication):
    model = ApiToken

    def authenticate_credentials(self, key):
        now = clock.now()
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
        if token is None or not token.is_active(now):
            raise exceptions.AuthenticationFailed(_("令牌无效、已过期或已撤销"))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("用户已停用"))
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
