"""通知: channels (add, test, remove) and the sends page. Admins manage the firm's channels and
everyone's; a staff member manages their own."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.core.filters import page_of

from . import services
from .forms import ChannelForm
from .models import Channel, Notification


def channels_of(user):
    return Channel.objects.select_related("user") if user.is_firm_admin else Channel.objects.filter(user=user)


def admin_only(request):
    """Only a 管理员 adds, tests, changes or removes a channel: a channel makes the site send."""
    if not request.user.is_firm_admin:
        raise PermissionDenied


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def channels(request):
    if request.method == "POST":
        admin_only(request)
    form = ChannelForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        owner = data.get("user") if request.user.is_firm_admin else request.user
        services.add_channel(
            name=data["name"], url=data["url"], events=data["events"], user=request.user, owner=owner, request=request
        )
        messages.success(request, _("已添加通知渠道“%(name)s”") % {"name": data["name"]})
        return redirect("notifications:channels")
    return render(request, "notifications/channels.html", {"form": form, "channels": channels_of(request.user)})


@require_POST
@login_required
def test(request, pk):
    admin_only(request)
    channel = get_object_or_404(channels_of(request.user), pk=pk)
    if services.tests_over_limit(request.user):
        messages.error(request, _("测试消息发送过于频繁，请一小时后再试"))
        return render(
            request,
            "notifications/channels.html",
            {"form": ChannelForm(user=request.user), "channels": channels_of(request.user)},
            status=429,
        )
    if services.test_channel(channel, user=request.user):
        messages.success(request, _("测试消息已发送到“%(name)s”") % {"name": channel.name})
    else:  # one answer for every failure: it must not tell which hosts or ports answer
        messages.error(request, _("测试消息未能送达，请检查渠道地址和密钥"))
    return redirect("notifications:channels")


@require_POST
@login_required
def remove(request, pk):
    admin_only(request)
    channel = get_object_or_404(channels_of(request.user), pk=pk)
    services.remove_channel(channel, user=request.user, request=request)
    messages.success(request, _("已删除通知渠道“%(name)s”") % {"name": channel.name})
    return redirect("notifications:channels")


@require_safe
@login_required
def sends(request):
    """Every notification the user is concerned by (all for an admin), with each delivery's outcome."""
    notifications = Notification.objects.prefetch_related("deliveries__channel").order_by("-created_at", "-pk")
    if not request.user.is_firm_admin:
        notifications = notifications.filter(Q(recipients=request.user) | Q(deliveries__channel__user=request.user))
    return render(request, "notifications/sends.html", {"page": page_of(request, notifications.distinct())})
