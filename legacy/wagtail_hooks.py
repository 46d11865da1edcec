"""Admin URLs of the old Leads Manager import, its Settings menu entry (admins only) and its log action."""

from typing import Any

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import urls
from .views import is_admin


@hooks.register("register_admin_urls")
def register_legacy_urls() -> list[Any]:
    return [path("legacy-import/", include(urls, namespace="legacy"))]


class LegacyMenuItem(MenuItem):
    def is_shown(self, request: Any) -> bool:
        return is_admin(request.user)


@hooks.register("register_settings_menu_item")
def register_legacy_menu_item() -> MenuItem:
    return LegacyMenuItem(
        _("Old Leads Manager import"), reverse("legacy:index"), icon_name="download", order=900
    )


@hooks.register("register_log_actions")
def register_legacy_log_actions(actions: Any) -> None:
    actions.register_action(
        "legacy.import_started", _("Old Leads Manager import started"), _("Old Leads Manager import started")
    )
