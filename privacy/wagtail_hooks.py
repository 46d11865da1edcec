"""Registers the personal-data request page, the request log and the erasure's log action."""

from typing import Any

from django.http import HttpRequest
from django.urls import include, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.permissions import register_permission_policy

from core.permission_policies import ReadOnlyPolicy
from crm.models import Lead

from . import services, urls
from .models import PrivacyRequest
from .viewsets import PrivacyRequestViewSet

register_permission_policy(PrivacyRequest, ReadOnlyPolicy(PrivacyRequest), exact_class=True)


@hooks.register("register_admin_urls")
def register_privacy_urls() -> list[Any]:
    return [path("privacy/", include(urls, namespace="privacy"))]


@hooks.register("register_admin_viewset")
def register_privacy_viewset() -> PrivacyRequestViewSet:
    return PrivacyRequestViewSet()


class _RequestMenuItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return services.may_manage(request.user)


@hooks.register("register_settings_menu_item")
def register_request_menu_item() -> MenuItem:
    return _RequestMenuItem(_("Personal data"), reverse("privacy:request"), icon_name="lock", order=950)


class PersonalDataPanel(Component):
    """The lead page's link to export or erase the person's data (for whoever may)."""

    template_name = "privacy/lead_panel.html"

    def __init__(self, lead: Lead) -> None:
        self.lead = lead

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        return {"url": reverse("privacy:request") + "?" + urlencode({"lead": self.lead.pk})}


@hooks.register("crm_lead_page_panels")
def personal_data_panel(request: HttpRequest, lead: Lead) -> PersonalDataPanel | None:
    return PersonalDataPanel(lead) if services.may_manage(request.user) else None
