"""Who needs the TOTP second factor: anyone who set one up, and every 管理员 once the firm asks
for it (FirmSettings). Pages, the bulk-clear confirmation and the middleware ask here."""

from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import FirmSettings

VERIFY, SETUP = "verify", "setup"


def has_factor(user) -> bool:
    return user.is_authenticated and user_has_device(user, confirmed=True)


def firm_requires(user) -> bool:
    return user.is_firm_admin and FirmSettings.objects.filter(pk=1, require_admin_second_factor=True).exists()


def step_needed(user) -> str | None:
    """VERIFY: enter a code before going on; SETUP: set a factor up first; None: nothing."""
    if has_factor(user):
        return VERIFY
    if firm_requires(user):
        return SETUP
    return None


def check_code(user, code: str):
    """The confirmed device that accepts `code` now, or None (a device throttles wrong codes)."""
    code = (code or "").strip()
    if not code.isdigit():
        return None
    return match_token(user, code)


def pending_device(user) -> TOTPDevice:
    """The device being set up: unconfirmed until the person enters its first code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
