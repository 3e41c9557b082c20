"""The person's own security pages: API tokens, the second factor, and a rate-limited password reset."""

import base64
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from apps.audit import log
from apps.audit.log import client_ip
from apps.audit.models import Action
from apps.core import clock

from . import second_factor, tokens
from .fresh_code import FreshCodeFormMixin
from .models import ApiToken
from .ratelimit import over_limit


def too_many(request, what):
    return render(request, "registration/rate_limited.html", {"what": what}, status=429)


# --- API tokens ----------------------------------------------------------------------------------


class TokenForm(FreshCodeFormMixin, forms.Form):
    name = forms.CharField(
        label=gettext_lazy("用途"), max_length=64, error_messages={"required": gettext_lazy("请填写用途")}
    )
    days = forms.TypedChoiceField(label=gettext_lazy("有效期"), choices=tokens.VALID_DAYS, coerce=int, initial=90)


@login_required
def api_tokens(request):
    """GET: the person's tokens. POST: a new one, whose key is shown on this answer only."""
    form = TokenForm(request.POST or None, user=request.user)
    key = None
    if request.method == "POST" and form.is_valid():
        if over_limit(Action.API_TOKEN_CREATED, settings.QINGKA_API_TOKENS_PER_HOUR, user=request.user):
            return too_many(request, _("创建API令牌"))
        _token, key = tokens.issue(request.user, form.cleaned_data["name"], form.cleaned_data["days"], request)
        form = TokenForm(user=request.user)
    now = clock.now()
    mine: list[Any] = list(ApiToken.objects.filter(user=request.user))  # each given its state to show
    for token in mine:
        token.state = _("已撤销") if token.revoked_at else _("有效") if token.is_active(now) else _("已过期")
    return render(request, "accounts/tokens.html", {"form": form, "key": key, "tokens": mine})


@login_required
@require_POST
def revoke_api_token(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if tokens.revoke(token, user=request.user, request=request):
        messages.success(request, _("已撤销令牌“%(name)s”") % {"name": token.name})
    return redirect("api_tokens")


# --- second factor -------------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("动态验证码"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={"required": gettext_lazy("请输入验证器应用显示的6位动态验证码")},
    )


def _next(request, default="dashboard"):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@login_required
def two_factor_verify(request):
    """The code asked after the password, for everyone with a factor."""
    if request.user.is_verified() or not second_factor.has_factor(request.user):
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = second_factor.check_code(request.user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            log.record(Action.ACCOUNT_SECOND_FACTOR_PASSED, request.user, request=request)
            return redirect(_next(request))
        log.record(Action.ACCOUNT_SECOND_FACTOR_FAILED, request.user, request=request)
        form.add_error("code", _("动态验证码不正确或已过期"))
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": _next(request, "")})


@login_required
def two_factor(request):
    """Set up (scan, then enter the first code) or, with a current code, turn off the factor."""
    user = request.user
    if second_factor.has_factor(user) and not user.is_verified():
        return redirect("two_factor_verify")
    form = CodeForm(request.POST or None)
    enabled = second_factor.has_factor(user)
    device = None if enabled else second_factor.pending_device(user)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        if enabled:
            if second_factor.firm_requires(user):
                form.add_error(None, _("事务所要求管理员使用两步验证，不能关闭"))
            elif second_factor.check_code(user, code) is None:
                form.add_error("code", _("动态验证码不正确或已过期"))
            else:
                user.totpdevice_set.all().delete()
                log.record(Action.ACCOUNT_SECOND_FACTOR_DISABLED, user, request=request)
                messages.success(request, _("已关闭两步验证"))
                return redirect("two_factor")
        elif device is not None and code.strip().isdigit() and device.verify_token(code.strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            log.record(Action.ACCOUNT_SECOND_FACTOR_ENABLED, user, request=request)
            messages.success(request, _("已开启两步验证：以后登录时须输入动态验证码"))
            return redirect(_next(request, "two_factor"))
        else:
            form.add_error("code", _("动态验证码不正确或已过期"))
    context = {"form": form, "enabled": enabled, "required": second_factor.firm_requires(user)}
    if device is not None:
        context.update(
            secret=base64.b32encode(device.bin_key).decode(),
            qr=segno.make(device.config_url).svg_data_uri(scale=4),
        )
    return render(request, "accounts/two_factor.html", context)


# --- password reset ------------------------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset, at most QINGKA_PASSWORD_RESETS_PER_HOUR requests per address and per e-mail."""

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        limit = settings.QINGKA_PASSWORD_RESETS_PER_HOUR
        if over_limit(Action.ACCOUNT_PASSWORD_RESET_REQUESTED, limit, source=client_ip(self.request), label=email):
            return too_many(self.request, _("找回密码"))
        log.record(Action.ACCOUNT_PASSWORD_RESET_REQUESTED, None, request=self.request, label=email)
        return super().form_valid(form)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out name or address: when it may try again."""
    until = clock.now() + settings.AXES_COOLOFF_TIME
    return render(request, "registration/locked_out.html", {"until": until}, status=429)
