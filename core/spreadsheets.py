"""Spreadsheet output that is safe to open in Excel or LibreOffice (OWASP "CSV injection").

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
spreadsheet programs; a leading quote makes it plain text. Every CSV the project serves goes through
here: its own CSVs are written with ``csv_writer``, and ``protect_wagtail_exports`` (run once at start-up)
makes the CSV export of every Wagtail listing (site history, form submissions, page reports, the lead
export) neutralise its cells and headings too. Wagtail's XLSX export already stores formula-like text
as text. Every such export is announced by ``spreadsheet_exported`` before it is written (the CRM's
audit trail hears it).
"""

import csv
from collections.abc import Iterable
from typing import Any, TypeVar

from django.dispatch import Signal
from django.utils.encoding import force_str
from wagtail.admin.views.mixins import SpreadsheetExportMixin

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

spreadsheet_exported = Signal()
"""A Wagtail listing is about to be exported: ``sender`` the view class, ``view`` (its ``request``),
``rows`` (the queryset or list exported) and ``export_format`` ("csv" or "xlsx")."""


T = TypeVar("T")


def neutralise_formula(value: T) -> T | str:
    """Return ``value`` with a leading quote if a spreadsheet would treat it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class FormulaSafeWriter:
    """A ``csv.writer`` whose text cells are neutralised; numbers and dates are written as they are."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise_formula(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(file: Any, **options: Any) -> FormulaSafeWriter:
    """A formula-safe ``csv.writer`` on ``file``."""
    return FormulaSafeWriter(csv.writer(file, **options))


def _write_csv_row(self: SpreadsheetExportMixin, writer: Any, row_dict: dict[str, Any]) -> Any:
    return writer.writerow(
        {
            field: neutralise_formula(self.preprocess_field_value(field, value, self.FORMAT_CSV))
            for field, value in row_dict.items()
        }
    )


def protect_wagtail_exports() -> None:
    """Make ``SpreadsheetExportMixin`` (every Wagtail listing export) write formula-safe CSV cells and headings,
    and announce each export (``spreadsheet_exported``).

    Wagtail's own views (site history, form submissions, reports) are served from Wagtail's URLs, so the
    shared base class is the one place every one of them writes through.
    """
    if getattr(SpreadsheetExportMixin, "_formula_safe", False):
        return
    wagtail_get_heading = SpreadsheetExportMixin.get_heading
    wagtail_as_spreadsheet = SpreadsheetExportMixin.as_spreadsheet

    def get_heading(self: SpreadsheetExportMixin, queryset: Any, field: str) -> str:
        return neutralise_formula(force_str(wagtail_get_heading(self, queryset, field)))

    def as_spreadsheet(self: SpreadsheetExportMixin, queryset: Any, spreadsheet_format: str) -> Any:
        if spreadsheet_format in self.FORMATS:
            spreadsheet_exported.send(
                sender=type(self), view=self, rows=queryset, export_format=spreadsheet_format
            )
        return wagtail_as_spreadsheet(self, queryset, spreadsheet_format)

    SpreadsheetExportMixin.write_csv_row = _write_csv_row
    SpreadsheetExportMixin.as_spreadsheet = as_spreadsheet
    SpreadsheetExportMixin.get_heading = get_heading
    SpreadsheetExportMixin._formula_safe = True
