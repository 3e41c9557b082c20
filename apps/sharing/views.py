"""Share links: staff who can operate a client make and revoke them; anyone holding an active
link sees that company's months and devices, and nothing of the firm's inside."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.audit import log
from apps.audit.models import Action
from apps.clients.models import Client
from apps.core import clock
from apps.core.permissions import client_for_operation
from apps.periods.display import decorate_device, timeline
from apps.periods.models import working_month

from .forms import ShareLinkForm
from .models import ShareLink


@login_required
@require_POST
def create(request, client_pk):
    client = client_for_operation(request.user, get_object_or_404(Client, pk=client_pk))
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("有效期：%(error)s") % {"error": "；".join(map(str, form.errors["days"]))})
        return redirect("clients:detail", client.pk)
    link = ShareLink.objects.create(
        client=client, created_by=request.user, expires_at=clock.now() + dt.timedelta(days=form.cleaned_data["days"])
    )
    log.record(Action.SHARE_LINK_CREATED, link, request=request, after={"expires_at": link.expires_at})
    messages.success(
        request,
        _("已生成状态分享链接，有效期至 %(day)s") % {"day": f"{timezone.localtime(link.expires_at):%Y-%m-%d %H:%M}"},
    )
    return redirect("clients:detail", client.pk)


@login_required
@require_POST
def revoke(request, pk):
    link = get_object_or_404(ShareLink.objects.select_related("client"), pk=pk)
    client_for_operation(request.user, link.client)
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = clock.now(), request.user
        link.save(update_fields=["revoked_at", "revoked_by"])
        log.record(
            Action.SHARE_LINK_REVOKED,
            link,
            request=request,
            before={"revoked_at": None},
            after={"revoked_at": link.revoked_at},
        )
        messages.success(request, _("已撤销该分享链接"))
    return redirect("clients:detail", link.client_id)


def public(request, token):
    """No login. A tampered or unknown link is a 404 like any unknown address; a genuine link
    that expired or was revoked says so, and whom to ask for a new one (410)."""
    link = ShareLink.for_token(token)
    if link is None:
        raise Http404
    if not link.is_active():
        response = render(request, "sharing/expired.html", {"contact": link.contact}, status=410)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    client, today = link.client, clock.today()
    devices = [decorate_device(device, today) for device in client.devices.in_service().order_by("sub_number")]
    response = render(
        request,
        "sharing/public.html",
        {
            "client": client,
            "link": link,
            "devices": devices,
            "timeline": timeline(client, working_month(today), clock.now()),
        },
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
