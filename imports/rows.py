"""One spreadsheet row to what will be stored: cleaned values, the matched service and campaign, the
submission date, and why a row cannot be imported."""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from crm import lead_fields
from crm.matching import CampaignRules, ServiceCatalogue
from crm.models import Brand, Campaign, Service
from crm.normalise import clean_text, normalise_email, phone_to_e164

from .mapping import IGNORE, SUBMITTED_AT
from .reading import Cell

INVALID_PHONE_TAG = "invalid-phone"
UNKNOWN_SERVICE_TAG = "unknown-service"
CONTACT_FIELDS = ("contact_name", "company", "email", "phone")
_DATE = re.compile(
    r"^(?:(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})|(?P<Y>\d{4})-(?P<M>\d{1,2})-(?P<D>\d{1,2}))"
    r"(?:[ T](?P<H>\d{1,2}):(?P<I>\d{2})(?::(?P<S>\d{2}))?(?:\.\d+)?)?(?P<Z>Z|[+-]\d{2}:?\d{2})?$"
)


class RowError(Exception):
    """The row cannot become a lead; the message says why."""


def parse_date(value: Cell) -> datetime.datetime | None:
    """A submission date from ``dd/mm/yyyy`` or ISO text (with an optional time), or a spreadsheet date,
    in the site's time zone unless it names its own; None when blank; ``RowError`` when unreadable."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time())
    else:
        text = clean_text(value)
        if not text:
            return None
        match = _DATE.match(text)
        if not match:
            raise RowError(
                _("The date “%(value)s” is not a date (use dd/mm/yyyy or yyyy-mm-dd).") % {"value": text}
            )
        moment = _moment(match, text)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _moment(match: re.Match[str], text: str) -> datetime.datetime:
    parts = match.groupdict()
    year, month, day = (
        (parts["y"], parts["m"], parts["d"]) if parts["y"] else (parts["Y"], parts["M"], parts["D"])
    )
    try:
        moment = datetime.datetime(
            int(year), int(month), int(day), int(parts["H"] or 0), int(parts["I"] or 0), int(parts["S"] or 0)
        )
        if parts["Z"]:
            zone = parts["Z"].replace("Z", "+00:00")
            moment = moment.replace(tzinfo=datetime.datetime.strptime(zone.replace(":", ""), "%z").tzinfo)
    except ValueError:
        raise RowError(_("The date “%(value)s” does not exist.") % {"value": text}) from None
    return moment


@dataclass
class Prepared:
    """A row as it will be stored."""

    number: int
    values: dict[str, str] = field(default_factory=dict)
    submitted_at: datetime.datetime | None = None
    phone_e164: str = ""
    service: Service | None = None
    campaign: Campaign | None = None
    tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def identity(self, brand_id: int) -> str:
        """The row's identity within the brand: the same row imported again is the same lead."""
        parts = [str(brand_id), self.submitted_at.isoformat() if self.submitted_at else ""]
        parts += [f"{name}={value}" for name, value in sorted(self.values.items()) if value]
        parts += [f"{key}={value}" for key, value in sorted(self.extra.items())]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class RowReader:
    """Turns the rows of one file into ``Prepared`` rows for a brand, with its catalogues read once."""

    def __init__(self, brand: Brand, headers: list[str], columns: list[str]) -> None:
        self.brand = brand
        self.headers = headers
        self.columns = columns
        self.services = ServiceCatalogue(brand)
        self.campaigns = CampaignRules(brand)
        self.fields = {name: lead_fields.get(name) for name in columns if name not in (IGNORE, SUBMITTED_AT)}

    def prepare(self, number: int, cells: list[Cell]) -> Prepared:
        """The row as it will be stored, or ``RowError`` saying why it cannot be."""
        row = Prepared(number)
        for index, target in enumerate(self.columns):
            value = cells[index] if index < len(cells) else ""
            if target == SUBMITTED_AT:
                row.submitted_at = parse_date(value)
            elif target != IGNORE:
                self._fill(row, target, value)
        for index, target in enumerate(self.columns):
            if target == IGNORE and index < len(cells) and index < len(self.headers):
                text = clean_text(cells[index], multiline=True)
                if text and self.headers[index]:
                    row.extra[clean_text(self.headers[index])[:200]] = text
        if not any(row.values.get(name) for name in CONTACT_FIELDS):
            raise RowError(_("The row has no name, company, email or phone."))
        self._match(row)
        return row

    def _fill(self, row: Prepared, name: str, value: Cell) -> None:
        if name == "email":
            email, valid = normalise_email(value)
            if not valid:
                raise RowError(_("The email “%(value)s” is not a valid address.") % {"value": email})
            row.values[name] = email
            return
        text = value.isoformat() if isinstance(value, datetime.date) else value
        spec = self.fields[name]
        row.values[name] = spec.fit(spec.normalise(text))

    def _match(self, row: Prepared) -> None:
        phone = row.values.get("phone", "")
        if phone:
            row.phone_e164 = phone_to_e164(phone)
            if not row.phone_e164:
                row.tags.append(INVALID_PHONE_TAG)
                row.notes.append(
                    _("The phone “%(value)s” is not a valid number; kept as given.") % {"value": phone}
                )
        service_text = row.values.get("service_text", "")
        if service_text:
            row.service = self.services.match(service_text)
            if row.service is None:
                row.tags.append(UNKNOWN_SERVICE_TAG)
                row.notes.append(
                    _("No service of the brand is called “%(value)s”.") % {"value": service_text}
                )
        values = row.values
        row.campaign = self.campaigns.match(
            values.get("utm_source", ""), values.get("utm_medium", ""), values.get("utm_campaign", "")
        )
