"""Admin wiring of the lead forms: the report views and who may see Wagtail's submission listings."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import views
from .models import LeadFormPage
from .reports import can_view_reports


@hooks.register("register_admin_urls")
def register_report_urls() -> list[URLPattern]:
    return [
        path("lead-forms/reports/", views.report_index, name="forms_builder_reports"),
        path("lead-forms/reports/<int:page_id>/", views.report_detail, name="forms_builder_report"),
    ]


class ReportsMenuItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return can_view_reports(request.user)


@hooks.register("register_admin_menu_item")
def register_reports_menu_item() -> MenuItem:
    return ReportsMenuItem(
        _("Form reports"), reverse("forms_builder_reports"), name="form-reports", icon_name="form", order=710
    )


@hooks.register("filter_form_submissions_for_user")
def limit_submissions_to_lead_readers(user: Any, editable_forms: QuerySet[Any]) -> QuerySet[Any]:
    """Submissions carry lead details: only admins, and managers for their brands' forms, list them."""
    if user.is_superuser:
        return editable_forms
    if user.is_active and user.is_management and user.has_perm("crm.view_lead"):
        return editable_forms.filter(
            pk__in=LeadFormPage.objects.filter(brand__in=user.brands.all()).values("pk")
        )
    return editable_forms.none()
