"""Admin URLs, the menu entry (only for people allowed) and the personal panel on the home page."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from crm.views.listing import LISTING_FILTER_HOOK

from . import urls
from .lead_filters import sla_filter
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
