"""The retention page in the Settings menu, for admins only."""

from typing import Any

from django.http import HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import views


@hooks.register("register_admin_urls")
def register_retention_urls() -> list[URLPattern]:
    return [path("retention/", views.retention_report, name="retention_report")]


class RetentionMenuItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return views.may_manage(request.user)  # type: ignore[arg-type]


@hooks.register("register_settings_menu_item")
def register_retention_menu_item() -> Any:
    return RetentionMenuItem(
        _("Retention report"),
        reverse("retention_report"),
        name="retention-report",
        icon_name="time",
        order=900,
    )
