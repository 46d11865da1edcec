"""Panels of the Wagtail home page: a salesperson's own open leads, overdue ones and figures (the
personal panel), and a manager's day (their team's waiting, late and overdue work). Every figure that
counts leads links to the lead listing filtered to exactly those leads."""

from urllib.parse import urlencode

from django.forms import Media
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.components import Component

from crm.access import holds_open_leads
from crm.agenda import OVERDUE
from crm.filters import (
    ASSIGNEE_MINE,
    ASSIGNEE_UNASSIGNED,
    CONTACTED_YES,
    STAGE_ACTIVE,
    user_label,
)
from crm.models import Role, Stage, User
from crm.viewsets.leads import lead_viewset

from . import team
from .filters import status_label
from .lead_filters import ATTENTION, BREACHED, SLA_PARAMETER
from .models import DashboardSettings
from .views import can_view_dashboards


def listing_url(listing=None, **query):
    """The lead listing filtered by ``query``; ``listing``: its URL when the caller has reversed it."""
    return f"{listing or reverse(lead_viewset.get_url_name('list'))}?{urlencode(query)}"


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
        assigned = {"assignee": ASSIGNEE_MINE, "assigned_within": figures["days"]}
        return {
            **figures,
            "open_total": sum(row["leads"] for row in figures["by_status"]),
            "overdue_total": sum(row["overdue"] for row in figures["by_status"]),
            "settings": settings,
            "open_url": listing_url(assignee=ASSIGNEE_MINE, stage=STAGE_ACTIVE),
            "overdue_url": listing_url(assignee=ASSIGNEE_MINE, **{SLA_PARAMETER: ATTENTION}),
            "figure_urls": {
                "assigned": listing_url(**assigned),
                "contacted": listing_url(**assigned, contacted=CONTACTED_YES),
                "won": listing_url(**assigned, stage=Stage.WON),
            },
            "dashboards_url": reverse("dashboards:overview") if can_view_dashboards(user) else "",
        }


class TeamDayPanel(Component):
    """A manager's home: their brands' open leads waiting for an assignee, first contacts past the SLA
    and overdue follow-ups, in all and per person, each count linked to the leads it counts."""

    name = "dashboards_team_day"
    order = 4
    template_name = "dashboards/team_day_panel.html"

    def __init__(self, request):
        self.request = request

    @property
    def media(self):
        return Media(css={"all": ["dashboards/dashboards.css"]})

    @staticmethod
    def is_shown_to(user):
        return user.is_authenticated and user.is_active and user.role == Role.MANAGER

    def get_context_data(self, parent_context=None):
        settings = DashboardSettings.current()
        day = team.team_day(self.request.user, settings)
        names = {
            person.pk: user_label(person)
            for person in User.objects.filter(pk__in=[row["person_id"] for row in day["people"]])
        }
        listing = reverse(lead_viewset.get_url_name("list"))
        for row in day["people"]:
            person = row["person_id"] or ASSIGNEE_UNASSIGNED
            row["label"] = names.get(row["person_id"], "") if row["person_id"] else _("Unassigned")
            row["breached_url"] = listing_url(listing, assignee=person, **{SLA_PARAMETER: BREACHED})
            row["overdue_url"] = listing_url(
                listing, assignee=person, next_action=OVERDUE, ordering="next_action_at"
            )
        return {
            **day,
            "settings": settings,
            "unassigned_url": listing_url(listing, assignee=ASSIGNEE_UNASSIGNED, stage=STAGE_ACTIVE),
            "breached_url": listing_url(listing, **{SLA_PARAMETER: BREACHED}),
            "overdue_url": listing_url(listing, next_action=OVERDUE, ordering="next_action_at"),
        }
