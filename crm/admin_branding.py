"""The admin speaks for this site, not for Wagtail: no links to Wagtail's online guides (on-premise), no
page panels on the home of people who do not work with pages."""

from wagtail import hooks
from wagtail.permission_policies.pages import PagePermissionPolicy

page_permission_policy = PagePermissionPolicy()

WAGTAIL_GUIDE_ITEMS = ("editor-guide", "whats-new-in-wagtail-")


@hooks.register("construct_help_menu")
def hide_wagtail_guides(request, menu_items):
    menu_items[:] = [item for item in menu_items if not item.name.startswith(WAGTAIL_GUIDE_ITEMS)]


PAGE_PANELS = (
    "workflow_objects_to_moderate",
    "user_objects_in_workflow_moderation",
    "recent_edits",
    "locked_pages",
)
"""Wagtail's home panels about pages: moderation, the pages one edited last, the pages one locked."""
PAGE_ACTIONS = ("add", "change", "publish", "lock", "unlock")


@hooks.register("construct_homepage_panels")
def hide_page_panels_from_people_without_pages(request, panels):
    """Someone who may not touch a page (a salesperson, a sales manager) is not shown Wagtail's page
    panels: they would be empty, and they cost every visit of the home four queries."""
    if not page_permission_policy.user_has_any_permission(request.user, PAGE_ACTIONS):
        panels[:] = [panel for panel in panels if getattr(panel, "name", "") not in PAGE_PANELS]
