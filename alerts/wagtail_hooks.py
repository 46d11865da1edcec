"""Admin registrations: rules editor, delivery log, account preferences panel, admins' problems panel."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.components import Component
from wagtail.admin.views.account import BaseSettingsPanel
from wagtail.admin.viewsets.model import ModelViewSetGroup

from crm.models import Role

from .forms import AlertPreferencesForm
from .models import Notification
from .viewsets.deliveries import delivery_viewset
from .viewsets.rules import alert_rule_viewset


class AlertsGroup(ModelViewSetGroup):
    menu_label = _("Alerts")
    menu_icon = "warning"
    menu_order = 400
    items = [alert_rule_viewset, delivery_viewset]


@hooks.register("register_admin_viewset")
def register_alerts() -> AlertsGroup:
    return AlertsGroup()


class AlertPreferencesPanel(BaseSettingsPanel):
    name = "alerts"
    title = _("Alerts")
    order = 350
    form_class = AlertPreferencesForm
    form_object = "user"


@hooks.register("register_account_settings_panel")
def register_alert_preferences(request: HttpRequest, user: Any, profile: Any) -> AlertPreferencesPanel:
    return AlertPreferencesPanel(request, user, profile)


class DeliveryProblemsPanel(Component):
    """Shown to admins while WhatsApp or email fail in a way only configuration can fix."""

    name = "alert_problems"
    order = 50
    template_name = "alerts/admin/problems_panel.html"

    def __init__(self, count: int):
        self.count = count

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        url = reverse(delivery_viewset.get_url_name("index")) + "?needs_admin=true&status=failed"
        return {"count": self.count, "url": url}


@hooks.register("construct_homepage_panels")
def add_delivery_problems_panel(request: Any, panels: list[Any]) -> None:
    if request.user.role != Role.ADMIN:
        return
    count = Notification.objects.filter(needs_admin=True, status=Notification.Status.FAILED).count()
    if count:
        panels.insert(0, DeliveryProblemsPanel(count))
