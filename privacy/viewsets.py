"""The request log in the admin: read-only, for admins (and whoever is given the view permission)."""

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies.base import ModelPermissionPolicy

from crm.models import User

from .models import PrivacyRequest


class ReadOnlyPolicy(ModelPermissionPolicy):
    """View only: the log is written by the services, never edited or deleted in the admin."""

    def user_has_permission(self, user: User | AnonymousUser, action: str) -> bool:
        return action in ("view", "inspect") and super().user_has_permission(user, "view")

    def user_has_any_permission(self, user: User | AnonymousUser, actions: Iterable[str]) -> bool:
        return any(self.user_has_permission(user, action) for action in actions)


class PrivacyRequestViewSet(ModelViewSet):
    model = PrivacyRequest
    icon = "lock"
    menu_label = gettext_lazy("Personal-data requests")
    url_prefix = "privacy/requests"
    name = "privacy_request"
    add_to_settings_menu = True
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = ["__str__", "subject_kind", "requested_by", "requested_at", "due_on", "completed_at"]
    list_filter = ["action", "subject_kind"]
    inspect_view_fields = [
        "action",
        "subject_kind",
        "lead_ids",
        "brands",
        "requested_by",
        "requested_at",
        "due_on",
        "completed_at",
        "outcome",
    ]
    form_fields = ["action"]
