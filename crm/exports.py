"""Spreadsheet export of leads that is safe to open in Excel or LibreOffice.

Text cells are neutralised against formulas (see ``core.spreadsheets``).

Times are in ``TIME_ZONE``, as on screen: ISO 8601 with the UTC offset in CSV; in XLSX, which cannot
hold a time zone, local times under a heading that names the offset.
"""

import datetime
from collections import OrderedDict
from collections.abc import Iterator
from typing import IO, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django_stubs_ext import StrOrPromise
from wagtail.admin.views.mixins import SpreadsheetExportMixin

from core.spreadsheets import neutralise_formula
from crm import lead_fields
from crm.field_spec import LeadField
from crm.models import Lead


def local_iso(value: datetime.datetime) -> str:
    """An aware datetime as ISO 8601 in the current time zone, offset included: 2026-03-02T09:30:00-03:00."""
    return timezone.localtime(value).isoformat(timespec="seconds")


def local_naive(value: datetime.datetime) -> datetime.datetime:
    """An aware datetime as the current time zone's wall-clock time, for spreadsheets without time zones."""
    return timezone.make_naive(value) if timezone.is_aware(value) else value


def zone_name() -> str:
    """The current time zone as a heading states it: its UTC offset if it keeps one all year, else its name."""
    zone = timezone.get_current_timezone()
    year = timezone.now().year
    offsets = {datetime.datetime(year, month, 1, tzinfo=zone).utcoffset() for month in (1, 7)}
    if len(offsets) != 1:
        return str(zone)
    minutes = int((offsets.pop() or datetime.timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def with_zone(heading: StrOrPromise) -> str:
    """A time column's heading with the time zone its values are in: "Received (UTC-03:00)"."""
    return gettext("%(heading)s (%(zone)s)") % {"heading": heading, "zone": zone_name()}


class LocalTimeExportMixin(SpreadsheetExportMixin):
    """Wagtail's listing export with times in ``TIME_ZONE``, never UTC.

    CSV cells get ISO 8601 with the offset; XLSX cells get the local wall-clock time (Excel cannot
    hold a time zone) under a heading that names the offset. ``time_columns`` lists the exported
    fields that hold datetimes without being model ``DateTimeField``s.
    """

    time_columns: tuple[str, ...] = ()
    custom_value_preprocess = {
        **SpreadsheetExportMixin.custom_value_preprocess,
        datetime.datetime: {
            SpreadsheetExportMixin.FORMAT_CSV: local_iso,
            SpreadsheetExportMixin.FORMAT_XLSX: local_naive,
        },
    }

    def is_time_column(self, queryset: QuerySet[Any], field: str) -> bool:
        if field in self.time_columns:
            return True
        try:
            return isinstance(queryset.model._meta.get_field(field), models.DateTimeField)
        except (AttributeError, FieldDoesNotExist):
            return False

    def get_heading(self, queryset: QuerySet[Any], field: str) -> str:
        heading = super().get_heading(queryset, field)
        if self.request.GET.get("export") == self.FORMAT_XLSX and self.is_time_column(queryset, field):
            return with_zone(heading)
        return heading


class LeadSpreadsheetExportMixin(LocalTimeExportMixin):
    """Wagtail's listing export for leads: the columns ``crm.lead_fields`` declares, formulas
    neutralised, chunked iteration."""

    export_chunk_size = 2000

    @cached_property
    def export_fields(self) -> tuple[LeadField, ...]:
        return lead_fields.export_fields()

    @property
    def list_export(self) -> list[str]:
        return [field.name for field in self.export_fields]

    @property
    def export_headings(self) -> dict[str, StrOrPromise]:
        return {field.name: field.heading for field in self.export_fields}

    def to_row_dict(self, item: Lead) -> OrderedDict[str, Any]:
        return OrderedDict((field.name, field.export_value(item)) for field in self.export_fields)

    def preprocess_field_value(self, field: str, value: Any, export_format: str) -> Any:
        return neutralise_formula(super().preprocess_field_value(field, value, export_format))

    def stream_csv(self, queryset: QuerySet[Lead]) -> Iterator[str]:
        return super().stream_csv(_ChunkedQuerySet(queryset, self.export_chunk_size))

    def write_xlsx(self, queryset: QuerySet[Lead], output: IO[bytes]) -> None:
        return super().write_xlsx(_ChunkedQuerySet(queryset, self.export_chunk_size), output)


class _ChunkedQuerySet:
    """Iterates a queryset in chunks (prefetches included) while still exposing ``.model``."""

    def __init__(self, queryset: QuerySet[Lead], chunk_size: int) -> None:
        self.queryset = queryset
        self.model = queryset.model
        self.chunk_size = chunk_size

    def __iter__(self) -> Iterator[Lead]:
        return self.queryset.iterator(chunk_size=self.chunk_size)
