"""设置开票方式 on the client page: for the firm's admins and the client's 会计, audited."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.clients.models import Client, InvoicingMode
from apps.clients.modes import set_invoicing_mode
from apps.core.forms import MONTH_ERROR
from apps.core.months import format_month, parse_month
from apps.core.permissions import client_for_operation


@login_required
@require_POST
def set_mode(request, pk):
    client = client_for_operation(request.user, get_object_or_404(Client.objects.select_related("staff"), pk=pk))
    try:
        month = parse_month(request.POST.get("from_month", ""))
    except ValueError:
        messages.error(request, MONTH_ERROR)
        return redirect("clients:detail", client.pk)
    mode = request.POST.get("mode", "")
    if mode not in InvoicingMode.values:
        messages.error(request, _("请选择开票方式：税控、数电或双轨"))
        return redirect("clients:detail", client.pk)
    label = InvoicingMode(mode).label
    if set_invoicing_mode(client, mode, month, user=request.user, request=request):
        messages.success(
            request, _("自 %(month)s 起开票方式为“%(mode)s”") % {"month": format_month(month), "mode": label}
        )
    else:
        messages.info(request, _("%(month)s 的开票方式已是“%(mode)s”") % {"month": format_month(month), "mode": label})
    return redirect("clients:detail", client.pk)
