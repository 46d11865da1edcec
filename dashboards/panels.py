"""The personal panel on the Wagtail home page: a salesperson's own open leads, overdue ones and figures."""

from urllib.parse import urlencode

from django.forms import Media
from django.urls import reverse
from wagtail.admin.ui.components import Component

from crm.access import holds_open_leads
from crm.filters import ASSIGNEE_MINE
from crm.models import Role
from crm.viewsets.leads import lead_viewset

from . import team
from .filters import status_label
from .models import DashboardSettings
from .views import can_view_dashboards


class PersonalPanel(Component):
    name = "dashboards_personal"
    order = 50
    template_name = "dashboards/personal_panel.html"

    def __init__(self, request):
        self.request = request

    @property
    def media(self):
        return Media(css={"all": ["dashboards/dashboards.css"]})

    @staticmethod
    def is_shown_to(user):
        # Managers see their brands' leads on the home page; their own figures only while they hold leads.
        return (
            user.is_authenticated
            and user.is_active
            and (user.role == Role.EMPLOYEE or (user.role == Role.MANAGER and holds_open_leads(user)))
        )

    def get_context_data(self, parent_context=None):
        user = self.request.user
        settings = DashboardSettings.current()
        figures = team.personal_figures(user, settings)
        listing = reverse(lead_viewset.get_url_name("list"))
        for row in figures["by_status"]:
            row["label"] = status_label({"label": row["status__label"], "label_es": row["status__label_es"]})
            row["url"] = f"{listing}?{urlencode({'assignee': ASSIGNEE_MINE, 'status': row['status_id']})}"
        for lead in figures["overdue"]:
            lead.page_url = reverse(lead_viewset.get_url_name("inspect"), args=[lead.pk])
        return {
            **figures,
            "open_total": sum(row["leads"] for row in figures["by_status"]),
            "overdue_total": sum(row["overdue"] for row in figures["by_status"]),
            "settings": settings,
            "my_leads_url": reverse(lead_viewset.get_url_name("mine")),
            "dashboards_url": reverse("dashboards:overview") if can_view_dashboards(user) else "",
        }
