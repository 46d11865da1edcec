"""The per-form reports in the admin (the lead form pages serve themselves: ``pages.LeadFormPage.serve``)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from crm import audit

from . import reports
from .models import LeadFormPage


def _reportable_page(request: HttpRequest, page_id: int) -> LeadFormPage:
    page = get_object_or_404(reports.reportable_forms(request.user), pk=page_id)
    return page


def _require_report_permission(request: HttpRequest) -> None:
    if not reports.can_view_reports(request.user):
        raise PermissionDenied


def report_index(request: HttpRequest) -> HttpResponse:
    _require_report_permission(request)
    range_form = reports.ReportRangeForm(request.GET or None)
    start, end = range_form.range()
    rows = reports.summary_rows(reports.reportable_forms(request.user), start, end)
    return TemplateResponse(
        request,
        "forms_builder/admin/report_index.html",
        {
            "rows": rows,
            "range_form": range_form,
            "start": start,
            "end": end,
            "page_title": _("Lead form reports"),
        },
    )


def report_detail(request: HttpRequest, page_id: int) -> HttpResponse:
    _require_report_permission(request)
    page = _reportable_page(request, page_id)
    range_form = reports.ReportRangeForm(request.GET or None)
    start, end = range_form.range()
    report = reports.build_report(page, start, end)
    if request.GET.get("export") == "csv":
        text = reports.report_csv(report)
        audit.record_export(request, f"form report {page.pk}", text.count("\n"), "csv")
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="form-{page.pk}-{start}-{end}.csv"'
        return response
    return TemplateResponse(
        request,
        "forms_builder/admin/report_detail.html",
        {
            "report": report,
            "page": page,
            "range_form": range_form,
            "page_title": _("Report: %(form)s") % {"form": page.title},
            "csv_query": f"{request.GET.urlencode()}&export=csv" if request.GET else "export=csv",
        },
    )
