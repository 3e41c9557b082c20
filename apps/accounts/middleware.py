"""Two gates every signed-in request passes: the idle timeout, and the second factor."""

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from apps.core import clock

from . import second_factor

LAST_ACTIVITY = "qingka.last_activity"
MARK_EVERY = 60  # seconds: the activity is written at most this often, not on every request
FACTOR_NOT_NEEDED = "qingka.second_factor_not_needed"


def background(view):
    """Marks a view that pages poll by themselves: calling it is not the person doing something."""
    view.background_poll = True
    return view


def mark_activity(request) -> None:
    request.session[LAST_ACTIVITY] = clock.now().timestamp()


class IdleTimeoutMiddleware(MiddlewareMixin):
    """Signs out a person idle for SESSION_IDLE_SECONDS. Only their own requests count: polling
    (views marked @background) neither keeps the session alive nor is refused silently."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated:
            return None
        is_background = getattr(view_func, "background_poll", False)
        last = request.session.get(LAST_ACTIVITY)
        if last is not None and clock.now().timestamp() - last > settings.SESSION_IDLE_SECONDS:
            logout(request)
            if is_background:  # htmx follows HX-Redirect: the page goes to the login form
                return HttpResponse(status=204, headers={"HX-Redirect": reverse(settings.LOGIN_URL)})
            return None  # the view's login_required sends the person to sign in again
        if not is_background and (last is None or clock.now().timestamp() - last >= MARK_EVERY):
            mark_activity(request)
        return None


class SecondFactorMiddleware(MiddlewareMixin):
    """A signed-in person who needs the second factor reaches nothing but the code page (or the
    set-up page), the language switch and sign-out until they enter a code."""

    OPEN = {"logout", "set_language", "two_factor_verify", "two_factor"}

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified() or request.session.get(FACTOR_NOT_NEEDED):
            return None
        step = second_factor.step_needed(user)
        if step is None:
            request.session[FACTOR_NOT_NEEDED] = True
            return None
        if request.resolver_match and request.resolver_match.url_name in self.OPEN:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": _("请先完成两步验证")}, status=403)
        target = reverse("two_factor_verify" if step == second_factor.VERIFY else "two_factor")
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
