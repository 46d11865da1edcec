"""Admin registrations: the Accounts menu, the conversion URL and the customer box on the lead page."""

from typing import Any

from django.http import HttpRequest
from django.urls import include, path
from wagtail import hooks
from wagtail.snippets.models import register_snippet

from crm import access
from crm.models import Lead

from . import urls
from .views import CustomerPanel
from .viewsets import AccountViewSet


@hooks.register("register_admin_urls")
def register_customer_urls() -> list[Any]:
    return [path("customers/", include(urls, namespace="customers"))]


@hooks.register("crm_lead_page_panels")
def customer_panel(request: HttpRequest, lead: Lead) -> CustomerPanel | None:
    if not access.can_see_lead(request.user, lead):
        return None
    panel = CustomerPanel(request, lead)
    return None if panel.is_empty else panel


register_snippet(AccountViewSet)
