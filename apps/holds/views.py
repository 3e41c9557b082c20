"""Releasing a held device: 口令已更正 with the new password, or 已处理."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.core.permissions import client_for_operation

from .forms import ReleaseForm
from .models import Hold
from .services import release


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def release_page(request, pk):
    hold = get_object_or_404(Hold.objects.select_related("device__client", "job"), pk=pk)
    client_for_operation(request.user, hold.device.client)
    form = ReleaseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            release(
                hold,
                data["release"],
                user=request.user,
                request=request,
                certificate_password=data["certificate_password"],
                device_password=data["device_password"],
                note=data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已解除 %(device)s 的暂停") % {"device": hold.device})
            return redirect("clients:detail", hold.device.client_id)
    return render(request, "holds/release.html", {"hold": hold, "form": form})
