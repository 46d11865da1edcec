"""Spreadsheet export of leads that is safe to open in Excel or LibreOffice (see ``intralog.spreadsheets``)."""

from collections import OrderedDict

from django.utils.translation import gettext_lazy as _
from wagtail.admin.views.mixins import SpreadsheetExportMixin

from intralog.spreadsheets import neutralise_formula


def _name(obj, attribute="name"):
    return getattr(obj, attribute, "") if obj is not None else ""


LEAD_EXPORT_COLUMNS = [
    ("id", _("ID"), lambda lead: lead.pk),
    ("received_at", _("Received"), lambda lead: lead.received_at),
    ("contact_name", _("Contact name"), lambda lead: lead.contact_name),
    ("company", _("Company"), lambda lead: lead.company),
    ("email", _("Email"), lambda lead: lead.email),
    ("phone", _("Phone as given"), lambda lead: lead.phone),
    ("phone_e164", _("Phone (E.164)"), lambda lead: lead.phone_e164),
    ("location", _("Location"), lambda lead: lead.location),
    ("brand", _("Brand"), lambda lead: _name(lead.brand)),
    ("service", _("Service"), lambda lead: _name(lead.service) or lead.service_text),
    ("status", _("Status"), lambda lead: lead.status.display_label),
    ("stage", _("Stage"), lambda lead: lead.status.get_stage_display()),
    ("assignee", _("Assignee"), lambda lead: lead.assignee.get_username() if lead.assignee else ""),
    ("source", _("Source"), lambda lead: _name(lead.source)),
    ("campaign", _("Campaign"), lambda lead: _name(lead.campaign)),
    ("utm_source", _("UTM source"), lambda lead: lead.utm_source),
    ("utm_medium", _("UTM medium"), lambda lead: lead.utm_medium),
    ("utm_campaign", _("UTM campaign"), lambda lead: lead.utm_campaign),
    ("priority", _("Priority"), lambda lead: lead.get_priority_display()),
    ("tags", _("Tags"), lambda lead: ", ".join(sorted(tag.name for tag in lead.tags.all()))),
    ("duplicate_of", _("Duplicate of"), lambda lead: lead.duplicate_of_id or ""),
    ("first_contacted_at", _("First contacted"), lambda lead: lead.first_contacted_at or ""),
    ("message", _("Message"), lambda lead: lead.message),
]


class LeadSpreadsheetExportMixin(SpreadsheetExportMixin):
    """Wagtail's listing export for leads: fixed columns, formulas neutralised, chunked iteration."""

    export_columns = LEAD_EXPORT_COLUMNS
    export_chunk_size = 2000

    list_export = [key for key, _heading, _getter in LEAD_EXPORT_COLUMNS]
    export_headings = {key: heading for key, heading, _getter in LEAD_EXPORT_COLUMNS}

    def to_row_dict(self, item):
        return OrderedDict((key, getter(item)) for key, _heading, getter in self.export_columns)

    def preprocess_field_value(self, field, value, export_format):
        return neutralise_formula(super().preprocess_field_value(field, value, export_format))

    def stream_csv(self, queryset):
        return super().stream_csv(_ChunkedQuerySet(queryset, self.export_chunk_size))

    def write_xlsx(self, queryset, output):
        return super().write_xlsx(_ChunkedQuerySet(queryset, self.export_chunk_size), output)


class _ChunkedQuerySet:
    """Iterates a queryset in chunks (prefetches included) while still exposing ``.model``."""

    def __init__(self, queryset, chunk_size):
        self.queryset = queryset
        self.model = queryset.model
        self.chunk_size = chunk_size

    def __iter__(self):
        return self.queryset.iterator(chunk_size=self.chunk_size)
