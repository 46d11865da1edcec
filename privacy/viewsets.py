"""The request log in the admin: read-only, for admins (and whoever is given the view permission)."""

from django.utils.translation import gettext_lazy
from wagtail.admin.viewsets.model import ModelViewSet

from .models import PrivacyRequest


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
