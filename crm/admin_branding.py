"""The admin speaks for this site, not for Wagtail: no links to Wagtail's online guides (on-premise)."""

from wagtail import hooks

WAGTAIL_GUIDE_ITEMS = ("editor-guide", "whats-new-in-wagtail-")


@hooks.register("construct_help_menu")
def hide_wagtail_guides(request, menu_items):
    menu_items[:] = [item for item in menu_items if not item.name.startswith(WAGTAIL_GUIDE_ITEMS)]
