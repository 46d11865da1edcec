"""The "Import leads" admin pages and their menu entry (admins and managers only)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from crm.views.listing import LISTING_FILTER_HOOK

from . import urls
from .lead_filters import import_run_filter
from .services import can_import


@hooks.register("register_admin_urls")
def register_import_urls():
    return [path("imports/", include(urls, namespace="imports"))]


class ImportsMenuItem(MenuItem):
    def is_shown(self, request):
        return can_import(request.user)


@hooks.register("register_admin_menu_item")
def register_imports_menu_item():
    return ImportsMenuItem(_("Import leads"), reverse("imports:index"), icon_name="upload", order=160)


hooks.register(LISTING_FILTER_HOOK, import_run_filter)
