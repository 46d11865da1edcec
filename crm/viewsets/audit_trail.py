"""The audit trail in the admin (Settings → Audit trail): admins read and filter it, and export it (which is
itself audited); nobody adds, edits or deletes an entry (``LimitedActionsPolicy`` allows only "view", and
only admins, as superusers, hold it)."""

import json
from collections import OrderedDict

import django_filters
from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from crm import audit
from crm.exports import LocalTimeExportMixin
from crm.models import AuditEntry, User


def local_time(entry):
    return date_format(timezone.localtime(entry.at), "SHORT_DATETIME_FORMAT")


def action_label(entry):
    return audit.action_label(entry.action)


def detail_text(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def actor_label(entry):
    return entry.actor_name or _("System")


class ActionChoiceFilter(django_filters.ChoiceFilter):
    """The actions with a label (``crm.audit.ACTIONS``), read when the form is built (apps may add some)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, choices=audit.action_choices, **kwargs)


class AuditEntryFilterSet(WagtailFilterSet):
    action = ActionChoiceFilter(label=_("Action"))
    actor = django_filters.ModelChoiceFilter(
        label=_("Actor"),
        queryset=User.objects.order_by("username"),
        method="filter_actor",
        widget=forms.Select,
    )
    at = django_filters.DateFromToRangeFilter(label=_("Date"), widget=DateRangePickerWidget)

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "at"]

    def filter_actor(self, queryset, name, value):
        return queryset.filter(actor_id=value.pk) if value else queryset


class NoFieldsForm(forms.ModelForm):
    class Meta:
        model = AuditEntry
        fields: list[str] = []


class AuditEntryIndexView(LocalTimeExportMixin, generic.IndexView):
    page_title = _("Audit trail")
    export_filename = "audit-trail"
    list_export = [
        "at",
        "action",
        "action_label",
        "actor_name",
        "actor_role",
        "ip_address",
        "target",
        "detail",
    ]
    export_headings = {
        "at": _("Time"),
        "action": _("Action code"),
        "action_label": _("Action"),
        "actor_name": _("Actor"),
        "actor_role": _("Actor's role"),
        "ip_address": _("IP address"),
        "target": _("Target"),
        "detail": _("Detail"),
    }
    custom_field_preprocess = {
        "detail": {
            LocalTimeExportMixin.FORMAT_CSV: detail_text,
            LocalTimeExportMixin.FORMAT_XLSX: detail_text,
        },
    }

    def to_row_dict(self, item):
        computed = {"action_label": audit.action_label(item.action)}
        return OrderedDict(
            (field, computed[field] if field in computed else getattr(item, field))
            for field in self.list_export
        )

    @cached_property
    def columns(self):
        first, *others = super().columns
        title = TitleColumn(
            first.name,
            label=first.label,
            accessor=local_time,
            sort_key=first.sort_key,
            get_url=self.get_inspect_url,
        )
        return [title, *others]

    def get_base_queryset(self):
        queryset = super().get_base_queryset()
        if self.is_export:
            # The entries up to the export's own (recorded just before writing), so its row count is the file's.
            newest = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
            queryset = queryset.filter(pk__lte=newest or 0)
        return queryset

    def filter_queryset(self, queryset):
        # A filter that does not read (a date that is none) shows nothing rather than everything.
        if self.filters and self.filters.is_bound and not self.filters.is_valid():
            return queryset.none()
        return super().filter_queryset(queryset)


class AuditEntryInspectView(generic.InspectView):
    def get_page_subtitle(self):
        return f"{action_label(self.object)} · {local_time(self.object)}"

    def get_fields(self):
        return ["at", "action", "actor_name", "actor_role", "actor_id", "ip_address", "target", "detail"]

    def get_field_display_value(self, field_name, field):
        value = getattr(self.object, field_name)
        if field_name == "at":
            return local_time(self.object)
        if field_name == "action":
            return f"{audit.action_label(value)} ({value})"
        if field_name == "detail":
            return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
        return value if value not in (None, "") else "—"

    @cached_property
    def header_more_buttons(self):
        return []


class AuditTrailViewSet(ModelViewSet):
    """Read-only: index (filters, search on actor and target, CSV/XLSX export) and each entry's page."""

    model = AuditEntry
    icon = "history"
    menu_label = _("Audit trail")
    menu_order = 630
    export_filename = "audit-trail"
    add_to_settings_menu = True
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = AuditEntryIndexView
    inspect_view_class = AuditEntryInspectView
    filterset_class = AuditEntryFilterSet
    search_fields = ["actor_name", "target"]
    list_display = [
        Column("at", label=_("Time"), accessor=local_time, sort_key="at"),
        Column("action", label=_("Action"), accessor=action_label),
        Column("actor", label=_("Actor"), accessor=actor_label),
        Column("ip_address", label=_("IP address")),
        Column("target", label=_("Target")),
        Column("detail", label=_("Detail"), accessor=audit.summary),
    ]
    list_per_page = 50
    ordering = ["-at", "-pk"]

    def get_form_class(self, for_update=False):
        return NoFieldsForm  # the policy allows no add or edit


@hooks.register("register_admin_viewset")
def register_audit_trail_viewset():
    return AuditTrailViewSet("crm_audit_trail", url_prefix="audit-trail")
