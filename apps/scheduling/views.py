"""批量清卡 (管理员): choose, preview, confirm, watch a batch; and filed returns recorded in bulk
from a spreadsheet (管理员 and 会计)."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.accounts import second_factor
from apps.accounts.middleware import background
from apps.core import clock, export, previews
from apps.core.filters import page_of
from apps.core.forms import report_errors
from apps.core.months import format_month
from apps.core.permissions import can_record_returns, require_firm_admin
from apps.jobs.models import FINISHED_STATES, JobState
from apps.periods.models import working_month

from . import returns_upload, services
from .forms import FILTERS, BatchForm, ConfirmBatchForm, ReturnsUploadForm
from .models import Batch

UPLOAD_SESSION_KEY = "scheduling.returns_upload"


def _admin(request):
    require_firm_admin(request.user)


def _preview_for(form, start):
    data = form.cleaned_data
    return services.preview(data, {name: data.get(name) for name in FILTERS}, start)


@require_safe
@login_required
def new(request):
    """The choice, and once chosen the preview: nothing is written here."""
    _admin(request)
    if "month" in request.GET:
        form = BatchForm(request.GET)
    else:
        form = BatchForm(initial={"month": format_month(working_month())})
    context: dict[str, Any] = {"form": form}
    if form.is_bound and form.is_valid():
        context.update(
            preview=_preview_for(form, form.start()),
            token=uuid.uuid4(),
            ask_code=second_factor.has_factor(request.user),
        )
    return render(request, "scheduling/new.html", context)


@require_POST
@login_required
def confirm(request):
    """Creates the batch and its jobs. The same confirmation sent twice leads to the same batch."""
    _admin(request)
    form = ConfirmBatchForm(request.POST, user=request.user)
    if not form.is_valid():
        report_errors(request, form)
        messages.error(request, _("未创建任何任务，请重新预览后确认"))
        return redirect("scheduling:new")
    data = form.cleaned_data
    existing = Batch.objects.filter(token=data["token"]).first()
    if existing:
        messages.warning(request, _("该批量任务已提交过，未重复创建"))
        return redirect("scheduling:detail", existing.pk)
    try:
        batch = services.create_batch(
            data,
            {name: data.get(name) for name in FILTERS},
            form.chosen_filters(),
            form.start(),
            user=request.user,
            request=request,
        )
    except IntegrityError:  # the same confirmation, submitted twice at once
        messages.warning(request, _("该批量任务已提交过，未重复创建"))
        return redirect("scheduling:detail", Batch.objects.get(token=data["token"]).pk)
    messages.success(request, _("已创建批量任务，共 %(n)d 个设备任务") % {"n": batch.created_count})
    return redirect("scheduling:detail", batch.pk)


@require_safe
@login_required
def batch_list(request):
    _admin(request)
    batches = (
        Batch.objects.select_related("created_by")
        .annotate(
            total=Count("jobs"),
            finished=Count("jobs", filter=_in_states(FINISHED_STATES)),
            failed=Count("jobs", filter=_in_states((JobState.FAILED,))),
        )
        .order_by("-created_at", "-pk")
    )
    page = page_of(request, batches)
    for batch in page:
        batch.percent = round(100 * batch.finished / batch.total) if batch.total else 100
    return render(request, "scheduling/list.html", {"page": page})


def _in_states(states):
    return Q(jobs__state__in=states)


def _batch(request, pk) -> Batch:
    _admin(request)
    return get_object_or_404(Batch.objects.select_related("created_by"), pk=pk)


@require_safe
@login_required
def detail(request, pk):
    batch = _batch(request, pk)
    return render(
        request, "scheduling/detail.html", {**services.progress(batch), "filter_labels": _filter_labels(batch)}
    )


@background
@require_safe
@login_required
def live(request, pk):
    """The progress part of the page, for htmx to poll."""
    return render(request, "scheduling/_progress.html", services.progress(_batch(request, pk)))


def _filter_labels(batch: Batch) -> list[tuple]:
    fields = BatchForm.base_fields
    return [(fields[name].label, chosen["label"]) for name, chosen in batch.filters.items() if name in fields]


@require_POST
@login_required
def cancel(request, pk):
    """Cancels the jobs of the batch that have not started."""
    batch = _batch(request, pk)
    cancelled = services.cancel_not_started(batch, user=request.user, request=request)
    messages.success(request, _("已取消 %(n)d 个尚未开始的任务") % {"n": cancelled})
    return redirect("scheduling:detail", batch.pk)


@require_POST
@login_required
def retry(request, pk):
    """Retries the failed jobs of the batch that the rule allows (never a password failure)."""
    batch = _batch(request, pk)
    retried, refused = services.retry_failed(batch, user=request.user, request=request)
    messages.success(request, _("已重试 %(n)d 个失败的任务") % {"n": retried})
    for job, reason in refused:
        messages.warning(
            request,
            _("%(client)s %(device)s 未重试：%(reason)s")
            % {"client": job.device.client, "device": job.device.number, "reason": reason},
        )
    return redirect("scheduling:detail", batch.pk)


# --- filed returns from a file ------------------------------------------------------------------


def _may_record_returns(user) -> None:
    if not can_record_returns(user):
        raise PermissionDenied


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def returns_page(request):
    """GET: the upload form. POST: the file is read and checked, and every row shown; the rows
    are kept in the session for the confirmation only when all of them are good."""
    _may_record_returns(request.user)
    form = ReturnsUploadForm(request.POST, request.FILES) if request.method == "POST" else ReturnsUploadForm()
    context = {"form": form, "columns": returns_upload.COLUMNS}
    if request.method == "POST":
        previews.forget(request, UPLOAD_SESSION_KEY)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = returns_upload.parse_upload(
                    upload.name, upload.read(returns_upload.LIMITS.max_bytes + 1), request.user, clock.today()
                )
            except returns_upload.UploadError as error:
                form.add_error("file", str(error))
            else:
                bad = sum(1 for row in rows if not row.ok)
                context.update(rows=rows, bad=bad, file_name=upload.name)
                if not bad:
                    context["token"] = previews.keep(
                        request, UPLOAD_SESSION_KEY, name=upload.name, rows=returns_upload.to_session(rows)
                    )
    return render(request, "scheduling/returns.html", context)


@require_POST
@login_required
def returns_confirm(request):
    """Records every row kept by the preview in one transaction, or none."""
    _may_record_returns(request.user)
    kept = previews.kept(request, UPLOAD_SESSION_KEY)
    if kept is None:
        messages.error(request, _("预览已失效或已提交过，请重新上传文件"))
        return redirect("scheduling:returns")
    try:
        n = returns_upload.record_all(kept["rows"], request.user, request)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        messages.error(request, _("未记录任何申报，请更正后重新上传"))
        return redirect("scheduling:returns")
    finally:
        previews.forget(request, UPLOAD_SESSION_KEY)
    messages.success(request, _("已从文件“%(name)s”记录 %(n)d 条申报") % {"name": kept["name"], "n": n})
    return redirect("scheduling:returns")


@require_safe
@login_required
def returns_template(request, fmt):
    _may_record_returns(request.user)
    if fmt not in export.FORMATS:
        raise Http404
    return export.export_response(fmt, "qingka-returns-template", returns_upload.COLUMNS, [], title=_("申报记录"))
