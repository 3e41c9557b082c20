"""Logins, logouts, failed logins and lockouts go to the audit log, whatever page they came from;
a changed password revokes the user's tokens."""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock

from .middleware import mark_activity
from .models import User
from .tokens import revoke_all


def _user_named(username):
    return User.objects.filter(username=username).first() if username else None


def through_the_site(request) -> bool:
    """A sign-in through one of the site's pages (the login form, the admin's), not one made
    in-process without a request to the site (the test client's force_login)."""
    return getattr(request, "resolver_match", None) is not None


@receiver(user_logged_in)
def logged_in(sender, request, user, **kwargs):
    if through_the_site(request):
        mark_activity(request)
        log.record(Action.ACCOUNT_LOGGED_IN, user, user=user, request=request)


@receiver(user_logged_out)
def logged_out(sender, request, user, **kwargs):
    if user is not None:
        log.record(Action.ACCOUNT_LOGGED_OUT, user, user=user, request=request)


@receiver(user_login_failed)
def login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username", "")
    log.record(
        Action.ACCOUNT_LOGIN_FAILED,
        _user_named(username),
        request=request,
        label=username,
        after={"username": username},
    )


@receiver(user_locked_out)
def locked_out(sender, request, username, ip_address, **kwargs):
    until = clock.now() + settings.AXES_COOLOFF_TIME
    log.record(
        Action.ACCOUNT_LOCKED_OUT,
        _user_named(username),
        request=request,
        label=username or ip_address,
        after={"username": username, "ip_address": ip_address, "until": until},
    )


@receiver(post_save, sender=User)
def password_changed(sender, instance, created, **kwargs):
    """set_password() leaves the new password in _password until the save is done; whoever changed
    it (the person, a reset link, an admin, a command), the user's API tokens stop working."""
    if not created and instance._password is not None:
        revoke_all(instance, reason="password_changed")
