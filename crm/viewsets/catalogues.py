"""CRM settings in the Wagtail admin: services, sources, campaigns, pipeline statuses and the
classification and assignment rules. Leads themselves are registered in ``crm.viewsets.leads``."""

from django.shortcuts import get_list_or_404
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.permissions import policy_registry
from wagtail.snippets.bulk_actions.delete import DeleteBulkAction
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views import chooser as snippet_chooser
from wagtail.snippets.views import snippets as snippet_views
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from crm.brand_scope import (
    NoChooserCreationMixin,
    ScopedChooserMixin,
    ScopedChosenMixin,
    ScopedChosenMultipleMixin,
    ScopedObjectMixin,
    brands_managed_by,
    is_admin,
    object_ids,
    reachable,
    scoped,
)
from crm.models import (
    AssignmentRule,
    Campaign,
    ClassificationRule,
    ContactTemplate,
    PipelineStatus,
    Service,
    Source,
    User,
)
from crm.tags import tag_labels
from crm.viewsets.money import LostReasonViewSet


class BrandScopedForm(WagtailAdminModelForm):
    """Offers non-admins only their brands and the services and people of those brands.

    The brand is required where objects without a brand are for admins only (the rules).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.for_user or is_admin(self.for_user):
            return
        brands = brands_managed_by(self.for_user)
        policy = policy_registry.get_by_type(self._meta.model)
        if "brand" in self.fields:
            self.fields["brand"].queryset = brands
            self.fields["brand"].required = not policy.brandless_allowed(self.for_user)
        if "service" in self.fields:
            self.fields["service"].queryset = Service.objects.filter(brand__in=brands)
        people = User.objects.filter(is_active=True, brands__in=brands).distinct()
        for name in ("owner", "members"):
            if name in self.fields:
                self.fields[name].queryset = people


class ScopedSnippetChooserViewSet(snippet_chooser.SnippetChooserViewSet):
    choose_view_class = scoped(snippet_chooser.ChooseView, NoChooserCreationMixin, ScopedChooserMixin)
    choose_results_view_class = scoped(
        snippet_chooser.ChooseResultsView, NoChooserCreationMixin, ScopedChooserMixin
    )
    chosen_view_class = scoped(snippet_chooser.SnippetChosenView, ScopedChosenMixin)
    chosen_multiple_view_class = scoped(snippet_chooser.SnippetChosenMultipleView, ScopedChosenMultipleMixin)
    create_view_class = scoped(snippet_chooser.SnippetCreateView, NoChooserCreationMixin)


class BrandScopedViewSetMixin:
    """Objects out of a non-admin's brands stay out of their listing, chooser, forms and object views
    (``crm.brand_scope.BrandScopedPermissionPolicy``, registered for the model in ``crm.apps``)."""

    edit_view_class = scoped(snippet_views.EditView, ScopedObjectMixin)
    delete_view_class = scoped(snippet_views.DeleteView, ScopedObjectMixin)
    copy_view_class = scoped(snippet_views.CopyView, ScopedObjectMixin)
    usage_view_class = scoped(snippet_views.UsageView, ScopedObjectMixin)
    history_view_class = scoped(snippet_views.HistoryView, ScopedObjectMixin)
    inspect_view_class = scoped(snippet_views.InspectView, ScopedObjectMixin)
    chooser_viewset_class = ScopedSnippetChooserViewSet

    def get_queryset(self, request):
        return reachable(self.permission_policy, request.user)

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
    list_display = ["label", "label_es", "key", "stage", "order", "probability", "colour"]
    list_filter = ["stage"]
    search_fields = ["key", "label", "label_es"]
    ordering = ["order"]
    form_fields = [
        "key",
        "label",
        "label_es",
        "order",
        "colour",
        "stage",
        "requires_follow_up",
        "probability",
    ]


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


class ContactTemplateViewSet(BrandScopedViewSetMixin, SnippetViewSet):
    """The messages the lead page's WhatsApp and email actions start from; managers edit their brands'."""

    model = ContactTemplate
    icon = "mail"
    menu_order = 160
    list_display = [
        "__str__",
        "brand",
        Column("channel", accessor="get_channel_display", label=_("Channel")),
        Column("language", accessor="get_language_display", label=_("Language")),
        "subject",
    ]
    list_filter = ["brand", "channel", "language"]
    search_fields = ["subject", "body"]
    ordering = ["brand__name", "channel", "language"]
    scoped_fields = ["brand", "channel", "language", "subject", "body"]


class CRMSettingsGroup(SnippetViewSetGroup):
    menu_label = _("CRM settings")
    menu_icon = "cogs"
    menu_order = 800
    items = (
        ServiceViewSet,
        SourceViewSet,
        CampaignViewSet,
        PipelineStatusViewSet,
        LostReasonViewSet,
        ClassificationRuleViewSet,
        AssignmentRuleViewSet,
        ContactTemplateViewSet,
    )


register_snippet(CRMSettingsGroup)

BRAND_SCOPED_SNIPPETS = [Service, Campaign, ClassificationRule, AssignmentRule, ContactTemplate]


class BrandScopedDeleteBulkAction(DeleteBulkAction):
    """Wagtail's snippet bulk delete, where objects out of the user's reach are neither listed nor deleted."""

    models = BRAND_SCOPED_SNIPPETS

    @cached_property
    def permission_policy(self):
        return policy_registry.get_by_type(self.model)

    def get_all_objects_in_listing_query(self, parent_id):
        return reachable(self.permission_policy, self.request.user).values_list("pk", flat=True)

    def get_queryset(self, model, object_ids_):
        within = reachable(self.permission_policy, self.request.user)
        return get_list_or_404(within, pk__in=object_ids([str(pk) for pk in object_ids_]))


# After Wagtail's own snippet delete action, so this one replaces it for these models.
hooks.register("register_bulk_action", BrandScopedDeleteBulkAction, order=100)
