"""Admin URLs, the menu entry (only for people allowed), the personal panel on the home page and the
SLA and stale badges on the lead board's cards."""

import datetime

from django.db.models import Q
from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from crm.board import CARD_FLAGS_HOOK, CardFlag
from crm.models import Stage
from crm.views.listing import LISTING_FILTER_HOOK

from . import urls
from .lead_filters import sla_filter
from .metrics import overdue_condition
from .models import DashboardSettings
from .panels import PersonalPanel, TeamDayPanel
from .views import can_open, can_view_dashboards


@hooks.register("register_admin_urls")
def register_dashboard_urls():
    return [path("dashboards/", include(urls, namespace="dashboards"))]


class DashboardsMenuItem(MenuItem):
    def is_shown(self, request):
        return can_view_dashboards(request.user)


@hooks.register("register_admin_menu_item")
def register_dashboards_menu_item():
    return DashboardsMenuItem(_("Dashboards"), reverse("dashboards:overview"), icon_name="table", order=150)


class CampaignDashboardMenuItem(MenuItem):
    """For those who open only the campaigns page (marketing)."""

    def is_shown(self, request):
        return can_open(request.user, "campaigns") and not can_view_dashboards(request.user)


@hooks.register("register_admin_menu_item")
def register_campaign_dashboard_menu_item():
    return CampaignDashboardMenuItem(
        _("Dashboards"),
        reverse("dashboards:campaigns"),
        name="campaign-dashboard",
        icon_name="table",
        order=150,
    )


@hooks.register("construct_homepage_panels")
def add_personal_panel(request, panels):
    if PersonalPanel.is_shown_to(request.user):
        panels.insert(0, PersonalPanel(request))
    if TeamDayPanel.is_shown_to(request.user):
        panels.append(TeamDayPanel(request))


hooks.register(LISTING_FILTER_HOOK, sla_filter)


@hooks.register(CARD_FLAGS_HOOK)
def sla_and_stale_card_flags(now):
    """The board marks what the dashboards count: a lead past its first-contact SLA, an open lead gone stale."""
    settings = DashboardSettings.current()
    stale_before = now - datetime.timedelta(days=settings.stale_days)
    return [
        CardFlag(
            "sla",
            pgettext("lead card badge", "SLA overdue"),
            overdue_condition(settings, now),
            ngettext(
                "Not contacted within %(count)s hour of being assigned.",
                "Not contacted within %(count)s hours of being assigned.",
                settings.sla_hours,
            )
            % {"count": settings.sla_hours},
            level="critical",
        ),
        CardFlag(
            "stale",
            pgettext("lead card badge", "Stale"),
            Q(status__stage__in=[Stage.NEW, Stage.OPEN], last_activity_at__lt=stale_before),
            ngettext("No activity for %(count)s day.", "No activity for %(count)s days.", settings.stale_days)
            % {"count": settings.stale_days},
        ),
    ]
