"""The import pages: upload, mapping with its preview, progress (polled), errors, revert and resume."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.spreadsheets import csv_writer
from crm.viewsets.leads import lead_viewset

from . import services
from .forms import MappingForm, UploadForm
from .lead_filters import IMPORT_RUN_PARAMETER
from .models import ImportRun
from .reading import FileProblem


def _allowed(request: HttpRequest) -> None:
    if not services.can_import(request.user):
        raise PermissionDenied


def _run(request: HttpRequest, pk: int) -> ImportRun:
    _allowed(request)
    return get_object_or_404(services.runs_for(request.user), pk=pk)


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> TemplateResponse:
    context.update(header_title=title, page_title=title, header_icon="upload")
    return TemplateResponse(request, template, context)


def _leads_url(run: ImportRun) -> str:
    return f"{reverse(lead_viewset.get_url_name('list'))}?{IMPORT_RUN_PARAMETER}={run.pk}"


def index(request: HttpRequest) -> HttpResponse:
    """The person's recent runs and the upload form."""
    _allowed(request)
    brands = services.import_brands(request.user)
    form = UploadForm(request.POST or None, request.FILES or None, brands=brands)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.receive_file(request.user, form.cleaned_data["brand"], form.cleaned_data["file"])
        except services.ImportProblem as problem:
            form.add_error("file", str(problem))
        else:
            return redirect("imports:run", pk=run.pk)
    runs = services.runs_for(request.user)[:50]
    return _page(request, "imports/index.html", _("Import leads"), form=form, runs=runs)


def run_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft run's mapping and preview; a started run's progress and outcome."""
    run = _run(request, pk)
    if run.state != ImportRun.State.DRAFT:
        return _page(
            request,
            "imports/run.html",
            run.file_name,
            run=run,
            can_resume=services.can_resume(run),
            leads_url=_leads_url(run),
            can_revert=run.state in (ImportRun.State.DONE, ImportRun.State.FAILED) or services.is_stale(run),
        )
    headers, columns = run.mapping["headers"], run.mapping["columns"]
    form = MappingForm(request.POST or None, headers=headers, columns=columns)
    if request.method == "POST" and form.is_valid():
        columns = services.set_mapping(run, form.columns())
        if request.POST.get("action") == "start":
            try:
                services.start(
                    run,
                    request.user,
                    mode=form.cleaned_data["mode"],
                    send_alerts=form.cleaned_data["send_alerts"],
                    remember=form.cleaned_data["remember"],
                )
            except (services.ImportProblem, FileProblem) as problem:
                messages.error(request, str(problem))
            else:
                return redirect("imports:run", pk=run.pk)
        form = MappingForm(request.POST, headers=headers, columns=columns)
        form.is_valid()
    try:
        rows = services.preview(run, columns)
    except FileProblem as problem:
        messages.error(request, str(problem))
        rows = []
    labels = dict(services.mapping.targets())
    shown = [str(labels[target]) for target in columns if target != services.mapping.IGNORE]
    return _page(
        request,
        "imports/mapping.html",
        run.file_name,
        run=run,
        form=form,
        preview=rows,
        shown=shown,
        earlier=services.earlier_run(run),
    )


def progress(request: HttpRequest, pk: int) -> JsonResponse:
    run = _run(request, pk)
    return JsonResponse(
        {
            "state": run.state,
            "state_label": run.get_state_display(),
            "processed": run.processed_rows,
            "total": run.total_rows,
            "percent": run.percent,
            "created": run.created_count,
            "updated": run.updated_count,
            "skipped": run.skipped_count,
            "errors": run.error_count,
            "active": run.is_active,
        }
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def errors_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    run = _run(request, pk)
    writer = csv_writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in services.error_rows(run)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-errors.csv"'
    return response


@require_POST
def revert(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    try:
        run = services.revert(run)
    except services.ImportProblem as problem:
        messages.error(request, str(problem))
    else:
        messages.success(
            request,
            ngettext(
                "Removed %(removed)s lead; %(kept)s kept because someone worked them.",
                "Removed %(removed)s leads; %(kept)s kept because someone worked them.",
                run.reverted_count,
            )
            % {"removed": run.reverted_count, "kept": run.kept_count},
        )
    return redirect(reverse("imports:run", args=[run.pk]))


@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    try:
        services.resume(run)
    except services.ImportProblem as problem:
        messages.error(request, str(problem))
    return redirect(reverse("imports:run", args=[run.pk]))
