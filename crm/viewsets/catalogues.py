"""CRM settings in the Wagtail admin: services, sources, campaigns, pipeline statuses and the
classification and assignment rules. Leads themselves are registered in ``crm.viewsets.leads``."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from crm.models import AssignmentRule, Campaign, ClassificationRule, PipelineStatus, Service, Source


class ServiceViewSet(SnippetViewSet):
    model = Service
    icon = "tag"
    menu_order = 100
    list_display = ["name", "brand", "form_option", BooleanColumn("is_active", label=_("Active"))]
    list_filter = ["brand", "is_active"]
    search_fields = ["name", "form_option"]
    form_fields = ["brand", "name", "form_option", "is_active"]


class SourceViewSet(SnippetViewSet):
    model = Source
    icon = "site"
    menu_order = 110
    list_display = ["name", "key"]
    search_fields = ["name", "key"]
    form_fields = ["key", "name"]


class CampaignViewSet(SnippetViewSet):
    model = Campaign
    icon = "bullhorn"
    menu_order = 120
    list_display = [
        "name",
        "brand",
        "channel",
        "starts_on",
        "ends_on",
        "budget",
        "spend",
        BooleanColumn("is_active", label=_("Active")),
    ]
    list_filter = ["brand", "channel", "is_active"]
    search_fields = ["name", "utm_source", "utm_medium", "utm_campaign"]
    form_fields = [
        "name",
        "brand",
        "channel",
        "starts_on",
        "ends_on",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "budget",
        "spend",
        "is_active",
    ]


class PipelineStatusViewSet(SnippetViewSet):
    """Admins edit the statuses (the role permissions give managers view only)."""

    model = PipelineStatus
    icon = "list-ol"
    menu_order = 130
    list_display = ["label", "label_es", "key", "stage", "order", "colour"]
    list_filter = ["stage"]
    search_fields = ["key", "label", "label_es"]
    ordering = ["order"]
    form_fields = ["key", "label", "label_es", "order", "colour", "stage"]


class ClassificationRuleViewSet(SnippetViewSet):
    model = ClassificationRule
    icon = "filter"
    menu_order = 140
    list_display = [
        "name",
        "order",
        BooleanColumn("is_enabled", label=_("Enabled")),
        "brand",
        Column("field", accessor="get_field_display", label=_("Field")),
        "pattern",
        "min_links",
        "set_status",
        "add_tags",
        BooleanColumn("stop_processing", label=_("Stop")),
    ]
    list_filter = ["is_enabled", "brand", "set_status"]
    search_fields = ["name", "pattern", "add_tags"]
    ordering = ["order", "pk"]
    form_fields = [
        "name",
        "order",
        "is_enabled",
        "brand",
        "external_form",
        "service",
        "source",
        "field",
        "match",
        "pattern",
        "min_links",
        "set_status",
        "add_tags",
        "set_priority",
        "skip_alerts",
        "stop_processing",
    ]


class AssignmentRuleViewSet(SnippetViewSet):
    model = AssignmentRule
    icon = "user"
    menu_order = 150
    list_display = [
        "name",
        "order",
        BooleanColumn("is_enabled", label=_("Enabled")),
        "brand",
        "service",
        "external_form",
        Column("mode", accessor="get_mode_display", label=_("Mode")),
        "owner",
        "assigned_count",
    ]
    list_filter = ["is_enabled", "brand", "mode"]
    search_fields = ["name", "external_form"]
    ordering = ["order", "pk"]
    form_fields = [
        "name",
        "order",
        "is_enabled",
        "brand",
        "service",
        "external_form",
        "mode",
        "owner",
        "members",
    ]


class CRMSettingsGroup(SnippetViewSetGroup):
    menu_label = _("CRM settings")
    menu_icon = "cogs"
    menu_order = 800
    items = (
        ServiceViewSet,
        SourceViewSet,
        CampaignViewSet,
        PipelineStatusViewSet,
        ClassificationRuleViewSet,
        AssignmentRuleViewSet,
    )


register_snippet(CRMSettingsGroup)
