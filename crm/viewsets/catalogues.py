"""CRM settings in the Wagtail admin: services, sources, campaigns, pipeline statuses and the
classification and assignment rules. Leads themselves are registered in ``crm.viewsets.leads``."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views import snippets as snippet_views
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from crm.models import (
    AssignmentRule,
    Brand,
    Campaign,
    ClassificationRule,
    PipelineStatus,
    Role,
    Service,
    Source,
    User,
)
from crm.tags import tag_labels


def scoped_brands(user):
    """The brands whose settings ``user`` may manage, or None for all (admins)."""
    if user.is_superuser or user.role == Role.ADMIN:
        return None
    return Brand.objects.filter(people=user)


def in_brand_scope(user, instance):
    """Non-admins reach settings of their brands and those for every brand (no brand set)."""
    brands = scoped_brands(user)
    return brands is None or instance.brand_id is None or brands.filter(pk=instance.brand_id).exists()


class BrandScopeMixin:
    """Refuses an object outside the requester's brands on every single-object view."""

    def get_object(self, *args, **kwargs):
        instance = super().get_object(*args, **kwargs)
        if not in_brand_scope(self.request.user, instance):
            raise PermissionDenied
        return instance


def _scoped(view_class):
    return type(view_class.__name__, (BrandScopeMixin, view_class), {})


class BrandScopedForm(WagtailAdminModelForm):
    """Offers managers only their brands and the services and people of those brands."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        brands = scoped_brands(self.for_user) if self.for_user else None
        if brands is None:
            return
        if "brand" in self.fields:
            self.fields["brand"].queryset = brands
        if "service" in self.fields:
            self.fields["service"].queryset = Service.objects.filter(brand__in=brands)
        people = User.objects.filter(is_active=True, brands__in=brands).distinct()
        for name in ("owner", "members"):
            if name in self.fields:
                self.fields[name].queryset = people


class BrandScopedViewSetMixin:
    """Objects of other brands stay out of a non-admin's listing, forms and object views."""

    edit_view_class = _scoped(snippet_views.EditView)
    delete_view_class = _scoped(snippet_views.DeleteView)
    copy_view_class = _scoped(snippet_views.CopyView)
    usage_view_class = _scoped(snippet_views.UsageView)
    history_view_class = _scoped(snippet_views.HistoryView)
    inspect_view_class = _scoped(snippet_views.InspectView)

    def get_queryset(self, request):
        brands = scoped_brands(request.user)
        queryset = self.model._default_manager.all()
        if brands is None:
            return queryset
        return queryset.filter(Q(brand__isnull=True) | Q(brand__in=brands))

    @property
    def edit_handler(self):
        return ObjectList([FieldPanel(name) for name in self.scoped_fields], base_form_class=BrandScopedForm)


class ServiceViewSet(BrandScopedViewSetMixin, SnippetViewSet):
    model = Service
    icon = "tag"
    menu_order = 100
    list_display = ["name", "brand", "form_option", BooleanColumn("is_active", label=_("Active"))]
    list_filter = ["brand", "is_active"]
    search_fields = ["name", "form_option"]
    scoped_fields = ["brand", "name", "form_option", "is_active"]


class SourceViewSet(SnippetViewSet):
    model = Source
    icon = "site"
    menu_order = 110
    list_display = ["name", "name_es", "key"]
    search_fields = ["name", "name_es", "key"]
    form_fields = ["key", "name", "name_es"]


class CampaignViewSet(BrandScopedViewSetMixin, SnippetViewSet):
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
    scoped_fields = [
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


class ClassificationRuleViewSet(BrandScopedViewSetMixin, SnippetViewSet):
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
        Column("add_tags", accessor=lambda rule: ", ".join(tag_labels(rule.tag_list)), label=_("Add tags")),
        BooleanColumn("stop_processing", label=_("Stop")),
    ]
    list_filter = ["is_enabled", "brand", "set_status"]
    search_fields = ["name", "pattern", "add_tags"]
    ordering = ["order", "pk"]
    scoped_fields = [
        "name",
        "name_es",
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


class AssignmentRuleViewSet(BrandScopedViewSetMixin, SnippetViewSet):
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
    scoped_fields = [
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
