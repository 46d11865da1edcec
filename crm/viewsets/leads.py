"""Lead administration in the Wagtail admin: the snippet viewset, its permission policy and hooks.

Row-level access is enforced by the views in ``crm.views.leads``; the permission policy registered
here makes Wagtail's own checks (menus, buttons, bulk actions, URL finders) agree with it.
"""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.search import SearchArea
from wagtail.admin.ui.components import Component
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from crm import access
from crm.agenda import LEAD_ROW_FIELDS
from crm.filters import ASSIGNEE_MINE, ASSIGNEE_UNASSIGNED, STAGE_ACTIVE
from crm.models import Lead, PipelineStatus, Role, Stage
from crm.views import board as board_views
from crm.views import followups as followup_views
from crm.views import lead_page, listing
from crm.views import leads as views
from crm.views import saved_views as saved_view_views


class LeadPermissionPolicy(ModelPermissionPolicy):
    """Model permissions from the role groups, narrowed to the user's leads; only admins delete."""

    def user_has_permission(self, user, action):
        if action == "delete":
            return user.is_active and user.role == Role.ADMIN
        return super().user_has_permission(user, action)

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action) and access.can_see_lead(user, instance)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        return self.user_has_any_permission(user, actions) and access.can_see_lead(user, instance)

    def instances_user_has_permission_for(self, user, action):
        if not self.user_has_permission(user, action):
            return Lead.objects.none()
        return access.leads_for(user)

    def instances_user_has_any_permission_for(self, user, actions):
        if not self.user_has_any_permission(user, actions):
            return Lead.objects.none()
        return access.leads_for(user)


register_permission_policy(Lead, LeadPermissionPolicy(Lead))


class LeadViewSet(SnippetViewSet):
    model = Lead
    icon = "user"
    menu_label = _("Leads")
    menu_name = "leads"
    menu_order = 110
    add_to_admin_menu = True
    url_prefix = "leads"
    url_namespace = "crm_leads"
    chooser_base_url_path = "leads/choose"
    chooser_admin_url_namespace = "crm_lead_chooser"
    list_per_page = 50
    export_filename = "leads"
    chooser_per_page = 20
    inspect_view_enabled = True
    # Lead writes are frequent and leads number a million: the inspect page shows linked leads itself,
    # so Wagtail's reference index (several rows and queries per lead save) is not kept for them.
    add_to_reference_index = False
    copy_view_enabled = False
    ordering = "-submitted_at"
    inspect_template_name = "crm/leads/inspect.html"

    index_view_class = listing.LeadIndexView
    add_view_class = views.LeadCreateView
    edit_view_class = views.LeadEditView
    delete_view_class = views.LeadDeleteView
    history_view_class = views.LeadHistoryView
    usage_view_class = views.LeadUsageView
    inspect_view_class = lead_page.LeadInspectView
    chooser_viewset_class = views.LeadChooserViewSet

    @property
    def menu_url(self):
        """The "Leads" menu opens the person's default view (``crm.saved_views.default_for``) at the
        viewset's prefix without its slash: a prefix of every lead page's path, so the sidebar marks the
        item on each of them (it marks the item whose address is the longest prefix of the page's)."""
        return reverse("crm_leads_home")

    def get_edit_handler(self):
        return views.edit_panel()

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("mine/", views.my_leads, name="mine"),
            path("search/", views.quick_search, name="search"),
            path("board/", board_views.BoardView.as_view(), name="board"),
            path("board/results/", board_views.BoardView.as_view(results_only=True), name="board_results"),
            path("board/more/", board_views.BoardColumnView.as_view(), name="board_more"),
            path("board/move/<int:pk>/", board_views.BoardMoveView.as_view(), name="board_move"),
            path("views/", saved_view_views.ManageView.as_view(), name="views"),
            path("views/default/", saved_view_views.DefaultViewChoice.as_view(), name="view_default"),
            path("views/save/<str:kind>/", saved_view_views.SaveView.as_view(), name="view_save"),
            path("views/<int:pk>/", saved_view_views.open_saved_view, name="view_open"),
            path("views/<int:pk>/edit/", saved_view_views.EditView.as_view(), name="view_edit"),
            path("views/<int:pk>/delete/", saved_view_views.DeleteView.as_view(), name="view_delete"),
            path("status/<int:pk>/", views.ChangeStatusView.as_view(), name="change_status"),
            path("quote/<int:pk>/", views.QuoteView.as_view(), name="quote"),
            path("quote/<int:pk>/clear/", views.ClearQuoteView.as_view(), name="clear_quote"),
            path("won-amount/<int:pk>/", views.WonAmountView.as_view(), name="won_amount"),
            path("assign/<int:pk>/", views.AssignView.as_view(), name="assign"),
            path("note/<int:pk>/", views.NoteView.as_view(), name="note"),
            path("contact/<int:pk>/", views.ContactAttemptView.as_view(), name="contact"),
            path("merge/<int:pk>/", views.MergeView.as_view(), name="merge"),
            path("follow-up/<int:pk>/", followup_views.ScheduleFollowUpView.as_view(), name="follow_up"),
            path(
                "follow-ups/<int:pk>/edit/",
                followup_views.RescheduleFollowUpView.as_view(),
                name="follow_up_edit",
            ),
            path(
                "follow-ups/<int:pk>/done/",
                followup_views.CompleteFollowUpView.as_view(),
                name="follow_up_done",
            ),
            path(
                "follow-ups/<int:pk>/cancel/",
                followup_views.CancelFollowUpView.as_view(),
                name="follow_up_cancel",
            ),
        ]


lead_viewset = LeadViewSet()
register_snippet(lead_viewset)


@hooks.register("register_admin_urls")
def register_default_view_url():
    return [path("leads", saved_view_views.open_default_view, name="crm_leads_home")]


class MyLeadsMenuItem(MenuItem):
    def is_shown(self, request):
        return views.has_lead_access(request.user)


@hooks.register("register_admin_menu_item")
def register_my_leads_menu_item():
    return MyLeadsMenuItem(
        _("My leads"),
        reverse(lead_viewset.get_url_name("mine")),
        name="my-leads",
        icon_name="user",
        order=100,
    )


class MyLeadsPanel(Component):
    """First panel of the admin home for people who hold leads: their open leads, newest first."""

    name = "my_leads"
    order = 10
    template_name = "crm/leads/home_panel.html"
    limit = 10

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        leads = (
            Lead.objects.filter(assignee=self.user, status__stage__in=[Stage.NEW, Stage.OPEN])
            .select_related("status", "brand")
            .only(*LEAD_ROW_FIELDS, "submitted_at")
            .order_by("-submitted_at", "-pk")[: self.limit]
        )
        context.update(
            {
                "leads": leads,
                "my_leads_url": reverse(lead_viewset.get_url_name("mine")),
                "inspect_url_name": lead_viewset.get_url_name("inspect"),
            }
        )
        return context


class BrandLeadsPanel(Component):
    """A manager's home: the newest leads of their brands waiting for an assignee, and the newest of all."""

    name = "brand_leads"
    order = 5
    template_name = "crm/leads/brand_panel.html"
    limit = 8

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        # Newest by submission, as the listing orders; open statuses picked from their small table, so
        # each section walks an index of submission times instead of joining and sorting the brands' leads.
        leads = (
            access.leads_for(self.user)
            .select_related("status", "brand")
            .only(*LEAD_ROW_FIELDS, "submitted_at")
            .order_by("-submitted_at", "-pk")
        )
        open_ids = list(
            PipelineStatus.objects.filter(stage__in=[Stage.NEW, Stage.OPEN]).values_list("pk", flat=True)
        )
        unassigned = leads.filter(assignee__isnull=True, status_id__in=open_ids)
        list_url = reverse(lead_viewset.get_url_name("list"))
        context.update(
            {
                "sections": [
                    (
                        _("Waiting for an assignee"),
                        list(unassigned[: self.limit]),
                        _("Every open lead of your brands has an assignee."),
                        f"{list_url}?assignee={ASSIGNEE_UNASSIGNED}&stage={STAGE_ACTIVE}",
                        _("All unassigned leads"),
                    ),
                    (
                        _("Newest"),
                        list(leads[: self.limit]),
                        _("Your brands have no leads yet."),
                        list_url,
                        _("All leads"),
                    ),
                ],
                "inspect_url_name": lead_viewset.get_url_name("inspect"),
            }
        )
        return context


@hooks.register("construct_homepage_panels")
def add_my_leads_panel(request, panels):
    user = request.user
    if not views.has_lead_access(user):
        return
    if user.role == Role.MANAGER:
        panels.insert(0, BrandLeadsPanel(user))
    if user.role == Role.EMPLOYEE or (user.role == Role.MANAGER and access.holds_open_leads(user)):
        panels.insert(0, MyLeadsPanel(user))


class LeadSearchArea(SearchArea):
    """The admin search for people who work with leads: it opens the one lead that matches, or else the
    lead listing searched (``crm.views.leads.quick_search``)."""

    def is_shown(self, request):
        return views.has_lead_access(request.user)


@hooks.register("register_admin_search_area")
def register_lead_search_area():
    # Before Wagtail's pages (100) and users (600): the sidebar search uses the first area shown.
    return LeadSearchArea(
        _("Leads"), reverse(lead_viewset.get_url_name("search")), name="leads", icon_name="user", order=50
    )


for bulk_action in (views.BulkAssignAction, views.BulkStatusAction):
    hooks.register("register_bulk_action", bulk_action)
# After Wagtail's own snippet delete action, so this one replaces it for leads.
hooks.register("register_bulk_action", views.LeadDeleteBulkAction, order=100)

__all__ = ["ASSIGNEE_MINE", "LeadPermissionPolicy", "LeadViewSet", "lead_viewset"]
