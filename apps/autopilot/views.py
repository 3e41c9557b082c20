"""自动清卡: the firm's setting (管理员), and a client taken out of the cycle or put back."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.clients.models import Client
from apps.core import clock
from apps.core.permissions import client_for_operation, require_firm_admin
from apps.jobs.models import Job, Origin

from . import cycle, services
from .forms import AutopilotForm, ExclusionForm
from .models import Autopilot, Exclusion, PassRecord

PASSES_SHOWN = 10


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def settings_page(request):
    require_firm_admin(request.user)
    autopilot = Autopilot.current()
    form = AutopilotForm(request.POST or None, instance=autopilot, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.save_settings(form, user=request.user, request=request)
        messages.success(request, _("已保存自动清卡设置"))
        return redirect("autopilot:settings")
    passes = list(PassRecord.objects.all()[:PASSES_SHOWN])
    context = {
        "form": form,
        "autopilot": autopilot,
        "passes": passes,
        "outlook": cycle.outlook(clock.now(), autopilot, passes[0] if passes else None),
        "exclusions": Exclusion.objects.select_related("client", "created_by").order_by("client__name"),
        "recent_jobs": Job.objects.filter(origin=Origin.AUTOPILOT).select_related("device__client")[:20],
    }
    return render(request, "autopilot/settings.html", context)


@require_POST
@login_required
def exclude(request, pk):
    client = client_for_operation(request.user, get_object_or_404(Client, pk=pk))
    form = ExclusionForm(request.POST)
    if form.is_valid():
        services.exclude(client, form.cleaned_data["reason"], user=request.user, request=request)
        messages.success(request, _("该客户已不参与自动清卡"))
    else:
        for error in form.errors.get("reason", []):
            messages.error(request, f"{form['reason'].label}：{error}")
    return redirect("clients:detail", client.pk)


@require_POST
@login_required
def include(request, pk):
    client = client_for_operation(request.user, get_object_or_404(Client, pk=pk))
    services.include(client, user=request.user, request=request)
    messages.success(request, _("该客户重新参与自动清卡"))
    return redirect("clients:detail", client.pk)
