"""Serving lead form pages to visitors, and the per-form reports in the admin."""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _

from core.client_ip import client_ip
from core.visits import browser_language, device_class, read_visit, save_visit, truncate_ip

from . import guards, reports, services
from .forms import RENDER_TOKEN_FIELD
from .models import RejectionReason


def _visit_context(request, visit, page):
    failed, failed_fields = visit.failed_attempts(page.pk)
    return services.VisitContext(
        utm=dict(visit.utm),
        referrer=visit.referrer,
        landing_page=visit.landing_page,
        device=device_class(request.headers.get("user-agent", "")),
        ip_prefix=truncate_ip(client_ip(request)),
        language=browser_language(request),
        fill_seconds=guards.fill_seconds(request, page),
        failed_attempts=failed,
        failed_fields=failed_fields,
    )


def _render(page, request, form=None, *, rejected=False, too_fast=False):
    context = page.get_context(request)
    context.update({"form": form, "rejected": rejected, "too_fast": too_fast})
    return TemplateResponse(request, page.get_template(request), context)


def _form_again(page, request):
    """The visitor's answers in the form once more, with a fresh render token."""
    data = request.POST.copy()
    data[RENDER_TOKEN_FIELD] = guards.make_render_token(page.pk)
    return page.get_form(data, request.FILES, page=page, user=request.user)


def serve_lead_form(page, request, *args, **kwargs):
    """Show the form, or handle a submission: spam guards, validation, then the lead."""
    if page.staff_only and not guards.is_staff(request.user):
        return redirect_to_login(request.get_full_path(), reverse("wagtailadmin_login"))
    preview = getattr(request, "is_preview", False)
    visit = read_visit(request)
    if request.method == "POST":
        reason = guards.rejection_reason(request, page)
        if reason == RejectionReason.TOO_FAST:
            guards.log_rejection(request, page, reason)
            response = _render(page, request, _form_again(page, request), too_fast=True)
        else:
            if not reason:
                form = page.get_form(request.POST, request.FILES, page=page, user=request.user)
                if not form.is_valid():
                    failed = sorted(form.errors)
                    services.record_invalid_attempt(page, failed)
                    visit.add_failed_attempt(page.pk, failed)
                    response = _render(page, request, form)
                elif guards.claim_render_token(request):
                    submission = services.submit_lead_form(
                        page, form.field_values(), _visit_context(request, visit, page), request.user
                    )
                    visit.clear_attempts(page.pk)
                    response = page.render_landing_page(request, submission, *args, **kwargs)
                else:
                    reason = RejectionReason.REUSED_TOKEN
            if reason:
                guards.log_rejection(request, page, reason)
                response = _render(page, request, rejected=reason)
    else:
        form = page.get_form(
            page=page, user=request.user, initial={RENDER_TOKEN_FIELD: guards.make_render_token(page.pk)}
        )
        if not preview:
            services.record_view(page)
        response = _render(page, request, form)
    add_never_cache_headers(response)
    if page.staff_only:
        patch_cache_control(response, private=True)
    return response if preview else save_visit(response, visit)


def _reportable_page(request, page_id):
    page = get_object_or_404(reports.reportable_forms(request.user), pk=page_id)
    return page


def _require_report_permission(request):
    if not reports.can_view_reports(request.user):
        raise PermissionDenied


def report_index(request):
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


def report_detail(request, page_id):
    _require_report_permission(request)
    page = _reportable_page(request, page_id)
    range_form = reports.ReportRangeForm(request.GET or None)
    start, end = range_form.range()
    report = reports.build_report(page, start, end)
    if request.GET.get("export") == "csv":
        response = HttpResponse(reports.report_csv(report), content_type="text/csv; charset=utf-8")
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
