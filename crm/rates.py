"""Exchange rates read from a CSV file: ``day,ars_per_usd`` per line, all or nothing.

Every line is checked before any is saved: a bad line (a day or rate that does not read, a rate of zero
or less, a day twice) is reported with its line number and nothing is imported. A day already stored
takes the file's rate.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from .models import ExchangeRate

MAX_BYTES = 2 * 1024 * 1024
DAY_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
HEADINGS = ("day", "ars_per_usd")
MAX_RATE = Decimal("9999999999.9999")


@dataclass
class RateImport:
    """What a file holds: the rates by day, or the problems by line."""

    rates: dict[date, Decimal] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0


def _day(text: str) -> date | None:
    for pattern in DAY_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _rate(text: str) -> Decimal | None:
    cleaned = text.strip().replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > MAX_RATE:
        return None
    return value.quantize(Decimal("0.0001"))


def _text(content: bytes) -> str | None:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_rates(content: bytes) -> RateImport:
    """The rates in ``content`` (a CSV file's bytes), or the problems that keep it from importing."""
    result = RateImport()
    text = _text(content) if len(content) <= MAX_BYTES else None
    if text is None:
        result.errors.append(_("The file is not a CSV file of at most 2 MB."))
        return result
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text), dialect)
    heading = [cell.strip().lower() for cell in next(rows, [])]
    if tuple(heading[:2]) != HEADINGS:
        result.errors.append(_("Line 1: the columns must be “day” and “ars_per_usd”."))
        return result
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        _read_row(result, line, row)
    if not result.rates and not result.errors:
        result.errors.append(_("The file holds no rates."))
    return result


def _read_row(result: RateImport, line: int, row: list[str]) -> None:
    if len(row) < 2:
        result.errors.append(_("Line %(line)s: a day and a rate are needed.") % {"line": line})
        return
    day, rate = _day(row[0]), _rate(row[1])
    if day is None:
        result.errors.append(
            _("Line %(line)s: “%(value)s” is not a day (YYYY-MM-DD or DD/MM/YYYY).")
            % {"line": line, "value": row[0][:40]}
        )
    elif rate is None:
        result.errors.append(
            _("Line %(line)s: “%(value)s” is not a rate above zero.") % {"line": line, "value": row[1][:40]}
        )
    elif day in result.rates:
        result.errors.append(_("Line %(line)s: %(day)s is in the file twice.") % {"line": line, "day": day})
    else:
        result.rates[day] = rate


@transaction.atomic
def import_rates(content: bytes) -> RateImport:
    """Read and store the rates of ``content``; with any problem, nothing is stored."""
    result = read_rates(content)
    if result.errors:
        return result
    existing = {
        rate.day: rate for rate in ExchangeRate.objects.select_for_update().filter(day__in=list(result.rates))
    }
    new = []
    for day, value in result.rates.items():
        stored = existing.get(day)
        if stored is None:
            new.append(ExchangeRate(day=day, ars_per_usd=value, origin=ExchangeRate.Origin.CSV))
        elif stored.ars_per_usd != value:
            stored.ars_per_usd, stored.origin = value, ExchangeRate.Origin.CSV
            stored.save(update_fields=["ars_per_usd", "origin", "updated_at"])
            result.updated += 1
    ExchangeRate.objects.bulk_create(new)
    result.created = len(new)
    return result
