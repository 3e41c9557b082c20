"""导入客户与设备 (管理员): the firm's sheet uploaded, its preview, and the confirmation that
writes it (importing.py); the template to fill in."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.accounts.fresh_code import FreshCodeFormMixin
from apps.core import export, previews
from apps.core.fields import fernet
from apps.core.permissions import require_firm_admin

from . import importing

IMPORT_SESSION_KEY = "clients.import"


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("客户与设备表（.xlsx 或 .csv）"),
        error_messages={"required": gettext_lazy("请选择要上传的文件")},
    )


class ImportConfirmForm(FreshCodeFormMixin):
    """确认导入: the second factor asked again when the file sets a device password."""

    def __init__(self, *args, sets_password: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not sets_password:
            self.fields.pop("code", None)


def _preview_context(result: importing.Plan, file_name: str) -> dict:
    return {
        "plan": result,
        "file_name": file_name,
        "created": result.of("created"),
        "updated": result.of("updated"),
        "unchanged": result.of("unchanged"),
    }


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def import_page(request):
    """GET: the upload form and the template. POST: the preview of what the file would do; the
    file is kept (encrypted, it may hold passwords) in the session for the confirmation only
    when every row is good."""
    require_firm_admin(request.user)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    context = {"form": form, "columns": importing.COLUMNS}
    if request.method == "POST":
        previews.forget(request, IMPORT_SESSION_KEY)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(importing.LIMITS.max_bytes + 1)
            result = importing.plan(upload.name, data)
            context.update(_preview_context(result, upload.name))
            if not result.problems and result.to_write:
                context["token"] = previews.keep(
                    request,
                    IMPORT_SESSION_KEY,
                    name=upload.name,
                    data=fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(data).decode(),
                    digest=result.digest(),
                    sets_password=result.sets_password,
                )
                context["confirm"] = ImportConfirmForm(user=request.user, sets_password=result.sets_password)
    return render(request, "clients/import.html", context)


@require_POST
@login_required
def import_confirm(request):
    """Writes what the preview showed, all of it or nothing."""
    require_firm_admin(request.user)
    kept = previews.kept(request, IMPORT_SESSION_KEY)
    if kept is None:
        messages.error(request, _("预览已失效或已提交过，请重新上传文件"))
        return redirect("clients:import")
    data = fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(kept["data"].encode())
    confirm = ImportConfirmForm(request.POST, user=request.user, sets_password=kept["sets_password"])
    if not confirm.is_valid():  # the preview stays, to be confirmed with a good code
        context = _preview_context(importing.plan(kept["name"], data), kept["name"])
        context.update(form=ImportForm(), columns=importing.COLUMNS, token=kept["token"], confirm=confirm)
        return render(request, "clients/import.html", context)
    previews.forget(request, IMPORT_SESSION_KEY)
    try:
        result = importing.write(kept["name"], data, user=request.user, request=request, expected_digest=kept["digest"])
    except importing.PlanChanged:
        messages.error(request, _("预览之后数据已有变化，未导入任何内容：请核对下面新的预览后重新上传"))
        result = importing.plan(kept["name"], data)
        return render(
            request,
            "clients/import.html",
            {"form": ImportForm(), "columns": importing.COLUMNS, **_preview_context(result, kept["name"])},
        )
    if result.problems:
        messages.error(request, _("文件中有错误，未导入任何内容"))
        return render(
            request,
            "clients/import.html",
            {"form": ImportForm(), "columns": importing.COLUMNS, **_preview_context(result, kept["name"])},
        )
    messages.success(
        request,
        _("已从文件“%(name)s”导入：新建 %(created)d 项，修改 %(updated)d 项，未变 %(unchanged)d 项")
        % {
            "name": kept["name"],
            "created": len(result.of("created")),
            "updated": len(result.of("updated")),
            "unchanged": len(result.of("unchanged")),
        },
    )
    return redirect("clients:list")


@require_safe
@login_required
def import_template(request, fmt):
    require_firm_admin(request.user)
    if fmt not in export.FORMATS:
        raise Http404
    return export.file_response(fmt, importing.TEMPLATE_NAME, importing.template_bytes(fmt))
