"""Spreadsheet export of leads that is safe to open in Excel or LibreOffice.

Text cells are neutralised against formulas (see ``core.spreadsheets``).

Times are in ``TIME_ZONE``, as on screen: ISO 8601 with the UTC offset in CSV; in XLSX, which cannot
hold a time zone, local times under a heading that names the offset.
"""

import datetime
from collections import OrderedDict

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.views.mixins import SpreadsheetExportMixin

from core.spreadsheets import neutralise_formula
from crm.tags import tag_labels

DATETIME_COLUMNS = ("received_at", "first_contacted_at")


def local_iso(value):
    """An aware datetime as ISO 8601 in the current time zone, offset included: 2026-03-02T09:30:00-03:00."""
    return timezone.localtime(value).isoformat(timespec="seconds")


def local_naive(value):
    """An aware datetime as the current time zone's wall-clock time, for spreadsheets without time zones."""
    return timezone.make_naive(value) if timezone.is_aware(value) else value


def zone_name():
    """The current time zone as a heading states it: its UTC offset if it keeps one all year, else its name."""
    zone = timezone.get_current_timezone()
    year = timezone.now().year
    offsets = {datetime.datetime(year, month, 1, tzinfo=zone).utcoffset() for month in (1, 7)}
    if len(offsets) != 1:
        return str(zone)
    minutes = int(offsets.pop().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def with_zone(heading):
    """A time column's heading with the time zone its values are in: "Received (UTC-03:00)"."""
    return gettext("%(heading)s (%(zone)s)") % {"heading": heading, "zone": zone_name()}


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
    ("assignee", _("Assignee"), lambda lead: str(lead.assignee) if lead.assignee else ""),
    ("source", _("Source"), lambda lead: _name(lead.source)),
    ("campaign", _("Campaign"), lambda lead: _name(lead.campaign)),
    ("utm_source", _("UTM source"), lambda lead: lead.utm_source),
    ("utm_medium", _("UTM medium"), lambda lead: lead.utm_medium),
    ("utm_campaign", _("UTM campaign"), lambda lead: lead.utm_campaign),
    ("priority", _("Priority"), lambda lead: lead.get_priority_display()),
    ("tags", _("Tags"), lambda lead: ", ".join(sorted(tag_labels(tag.name for tag in lead.tags.all())))),
    ("duplicate_of", _("Duplicate of"), lambda lead: lead.duplicate_of_id or ""),
    ("first_contacted_at", _("First contacted"), lambda lead: lead.first_contacted_at or ""),
    ("message", _("Message"), lambda lead: lead.message),
]


class LocalTimeExportMixin:
    """For a ``SpreadsheetExportMixin`` view: times in ``TIME_ZONE``, never UTC.

    CSV cells get ISO 8601 with the offset; XLSX cells get the local wall-clock time (Excel cannot
    hold a time zone) under a heading that names the offset. ``time_columns`` lists the exported
    fields that hold datetimes without being model ``DateTimeField``s.
    """

    time_columns = ()
    custom_value_preprocess = {
        **SpreadsheetExportMixin.custom_value_preprocess,
        datetime.datetime: {
            SpreadsheetExportMixin.FORMAT_CSV: local_iso,
            SpreadsheetExportMixin.FORMAT_XLSX: local_naive,
        },
    }

    def is_time_column(self, queryset, field):
        if field in self.time_columns:
            return True
        try:
            return isinstance(queryset.model._meta.get_field(field), models.DateTimeField)
        except (AttributeError, FieldDoesNotExist):
            return False

    def get_heading(self, queryset, field):
        heading = super().get_heading(queryset, field)
        if self.request.GET.get("export") == self.FORMAT_XLSX and self.is_time_column(queryset, field):
            return with_zone(heading)
        return heading


class LeadSpreadsheetExportMixin(LocalTimeExportMixin, SpreadsheetExportMixin):
    """Wagtail's listing export for leads: fixed columns, formulas neutralised, chunked iteration."""

    export_columns = LEAD_EXPORT_COLUMNS
    export_chunk_size = 2000

    list_export = [key for key, _heading, _getter in LEAD_EXPORT_COLUMNS]
    export_headings = {key: heading for key, heading, _getter in LEAD_EXPORT_COLUMNS}
    time_columns = DATETIME_COLUMNS

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
