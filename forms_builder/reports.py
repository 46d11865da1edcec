"""Per-form reports for marketing: views, submissions, conversion, field errors and UTM breakdown."""

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.spreadsheets import csv_writer

from .models import (
    FormDailyStats,
    FormFieldErrorDaily,
    LeadFormPage,
    RejectedSubmission,
    RejectionReason,
    SubmissionBehaviour,
)

REPORT_PERMISSION = "forms_builder.view_form_report"
DEFAULT_DAYS = 30
MAX_DAYS = 731


def can_view_reports(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm(REPORT_PERMISSION))


def reportable_forms(user: Any) -> QuerySet[LeadFormPage]:
    """The form pages whose reports ``user`` may see: all for admins, else those of their brands."""
    pages = LeadFormPage.objects.select_related("brand").order_by("title")
    if not can_view_reports(user):
        return pages.none()
    if user.is_superuser:
        return pages
    return pages.filter(brand__in=user.brands.all())


class ReportRangeForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        if start and end and (end - start).days > MAX_DAYS:
            raise forms.ValidationError(_("Choose a range of at most two years."))
        return cleaned

    def range(self) -> tuple[date, date]:
        """(start, end) dates, inclusive: the valid input, or the last 30 days."""
        today = timezone.localdate()
        start = end = None
        if self.is_bound and self.is_valid():
            start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        end = end or today
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        return start, end


@dataclass
class FieldErrorRate:
    field_name: str
    label: str
    errors: int
    rate: float


@dataclass
class FormReport:
    page: LeadFormPage
    start: date
    end: date
    views: int = 0
    submissions: int = 0
    invalid_attempts: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    field_errors: list[FieldErrorRate] = field(default_factory=list)
    by_utm: list[dict[str, Any]] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return self.submissions + self.invalid_attempts

    @property
    def conversion(self) -> float:
        return self.submissions / self.views if self.views else 0.0

    @property
    def error_rate(self) -> float:
        return self.invalid_attempts / self.attempts if self.attempts else 0.0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


def _in_range(queryset: QuerySet[Any], start: date, end: date) -> QuerySet[Any]:
    return queryset.filter(day__gte=start, day__lte=end)


def build_report(page: LeadFormPage, start: date, end: date) -> FormReport:
    report = FormReport(page=page, start=start, end=end)
    totals = _in_range(FormDailyStats.objects.filter(page=page), start, end).aggregate(
        views=Sum("views"), invalid=Sum("invalid_attempts")
    )
    report.views = totals["views"] or 0
    report.invalid_attempts = totals["invalid"] or 0
    behaviours = _in_range(SubmissionBehaviour.objects.filter(page=page), start, end)
    report.submissions = behaviours.count()
    rejected = (
        _in_range(RejectedSubmission.objects.filter(page=page), start, end)
        .values("reason")
        .annotate(total=Count("pk"))
    )
    labels = dict(RejectionReason.choices)
    report.rejected = {str(labels.get(row["reason"], row["reason"])): row["total"] for row in rejected}
    field_labels = {form_field.clean_name: form_field.label for form_field in page.form_fields.all()}
    errors = (
        _in_range(FormFieldErrorDaily.objects.filter(page=page), start, end)
        .values("field_name")
        .annotate(total=Sum("errors"))
        .order_by("-total", "field_name")
    )
    report.field_errors = [
        FieldErrorRate(
            row["field_name"],
            field_labels.get(row["field_name"], row["field_name"]),
            row["total"],
            row["total"] / report.attempts if report.attempts else 0.0,
        )
        for row in errors
    ]
    report.by_utm = list(
        behaviours.values("utm_source", "utm_medium", "utm_campaign")
        .annotate(total=Count("pk"))
        .order_by("-total", "utm_source", "utm_medium", "utm_campaign")
    )
    return report


def summary_rows(pages: Iterable[LeadFormPage], start: date, end: date) -> list[dict[str, Any]]:
    """One line per form: views, submissions and conversion over the range (three queries in all)."""
    pages = list(pages)
    ids = [page.pk for page in pages]
    views = dict(
        _in_range(FormDailyStats.objects.filter(page_id__in=ids), start, end)
        .values("page_id")
        .annotate(total=Sum("views"))
        .values_list("page_id", "total")
    )
    submissions = dict(
        _in_range(SubmissionBehaviour.objects.filter(page_id__in=ids), start, end)
        .values("page_id")
        .annotate(total=Count("pk"))
        .values_list("page_id", "total")
    )
    rows = []
    for page in pages:
        page_views, page_submissions = views.get(page.pk, 0), submissions.get(page.pk, 0)
        rows.append(
            {
                "page": page,
                "views": page_views,
                "submissions": page_submissions,
                "conversion": page_submissions / page_views if page_views else 0.0,
            }
        )
    return rows


def report_csv(report: FormReport) -> str:
    """The report as CSV (formula-safe): a metrics block, then field error rates, then submissions by UTM."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow([gettext("Form"), report.page.title])
    writer.writerow([gettext("From"), report.start.isoformat()])
    writer.writerow([gettext("To"), report.end.isoformat()])
    writer.writerow([])
    writer.writerow([gettext("Metric"), gettext("Value")])
    writer.writerow([gettext("Views"), report.views])
    writer.writerow([gettext("Submissions"), report.submissions])
    writer.writerow([gettext("Conversion"), f"{report.conversion:.4f}"])
    writer.writerow([gettext("Invalid attempts"), report.invalid_attempts])
    writer.writerow([gettext("Error rate"), f"{report.error_rate:.4f}"])
    writer.writerow([gettext("Rejected as spam"), report.rejected_total])
    for reason, total in report.rejected.items():
        writer.writerow([gettext("Rejected: %(reason)s") % {"reason": reason}, total])
    writer.writerow([])
    writer.writerow([gettext("Field"), gettext("Errors"), gettext("Error rate")])
    for row in report.field_errors:
        writer.writerow([row.label, row.errors, f"{row.rate:.4f}"])
    writer.writerow([])
    writer.writerow(
        [gettext("UTM source"), gettext("UTM medium"), gettext("UTM campaign"), gettext("Submissions")]
    )
    for utm_row in report.by_utm:
        writer.writerow(
            [utm_row["utm_source"], utm_row["utm_medium"], utm_row["utm_campaign"], utm_row["total"]]
        )
    return buffer.getvalue()
