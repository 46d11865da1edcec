"""Data tables shown under each chart, their chart definitions and their CSV export."""

import csv
import datetime
from dataclasses import dataclass, field

from django.http import HttpResponse
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from core.spreadsheets import neutralise_formula
from crm.exports import local_iso

INTEGER, DECIMAL, PERCENT, HOURS, DAYS, MONEY, TEXT, DATE, DATETIME = (
    "integer",
    "decimal",
    "percent",
    "hours",
    "days",
    "money",
    "text",
    "date",
    "datetime",
)
MONEY_USD = "money_usd"
MONEY_KINDS = {"ARS": MONEY, "USD": MONEY_USD}


@dataclass
class Column:
    key: str
    label: str
    kind: str = INTEGER
    sortable: bool = False


@dataclass
class DataTable:
    """Rows (dicts) with labelled columns; optionally drawn as a chart of some columns."""

    key: str
    title: str
    columns: list
    rows: list
    chart: str = ""
    chart_x: str = ""
    chart_series: list = field(default_factory=list)
    link_column: str = ""
    note: str = ""
    warning: str = ""

    def cells(self):
        """Rows as lists of (column, value) for the template."""
        return [[(column, row.get(column.key)) for column in self.columns] for row in self.rows]

    def chart_data(self):
        """The JSON the chart script draws: labels and one dataset per series column (a total row, marked
        ``is_total``, stays in the table only)."""
        if not self.chart:
            return None
        rows = [row for row in self.rows if not row.get("is_total")]
        labels = [_chart_label(row.get(self.chart_x)) for row in rows]
        by_key = {column.key: column for column in self.columns}
        datasets = [
            {
                "label": str(by_key[key].label),
                "kind": by_key[key].kind,
                "data": [_chart_value(row.get(key), by_key[key].kind) for row in rows],
            }
            for key in self.chart_series
        ]
        return {"type": self.chart, "labels": labels, "datasets": datasets}


def _chart_label(value):
    if isinstance(value, datetime.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return "" if value is None else str(value)


def _chart_value(value, kind):
    if value is None:
        return None
    if kind == PERCENT:
        return round(value * 100, 1)
    return round(float(value), 2)


def csv_response(table, filename_prefix="dashboard"):
    """The table as CSV: raw values (dot decimals, ISO dates, local times with their offset), text formula-safe."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename_prefix}-{table.key}.csv"'
    writer = csv.writer(response)
    writer.writerow([neutralise_formula(str(column.label)) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(row.get(column.key), column.kind) for column in table.columns])
    return response


def _csv_value(value, kind):
    """Figures as plain numbers (a negative change stays a number); text neutralised against formulas."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return local_iso(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if kind == PERCENT:
        return f"{value * 100:.1f}"
    if kind in (DECIMAL, HOURS, DAYS, MONEY, MONEY_USD):
        return f"{float(value):.2f}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return neutralise_formula(str(value))


def sort_rows(rows, columns, sort):
    """Sort by ``sort`` (a column key, ``-`` prefix for descending); empty values last."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in {column.key for column in columns if column.sortable}:
        return rows, ""
    present = [row for row in rows if row.get(key) is not None]
    missing = [row for row in rows if row.get(key) is None]
    present.sort(key=lambda row: row[key], reverse=descending)
    return present + missing, sort


NO_VALUE = _("none")
