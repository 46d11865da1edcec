"""Who a request is about: the person behind a lead, an email or a phone, and everything that finds them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import quote_plus

from django.db.models import Model, QuerySet

from crm import access, tombstones
from crm.erasure import person_lead_ids
from crm.models import Lead, Tombstone, User
from crm.normalise import phone_to_e164

LEAD, EMAIL, PHONE = "lead", "email", "phone"
_Row = TypeVar("_Row", bound=Model)


class SubjectError(ValueError):
    """The subject given does not name a lead, an email or a phone."""


@dataclass
class Person:
    """A person's leads (with merged leads and duplicates) and the contact details that find them."""

    kind: str
    key: str
    lead_ids: list[int] = field(default_factory=list)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    refs: set[tuple[str, str, str]] = field(default_factory=set)
    brand_ids: set[int] = field(default_factory=set)
    first_at: datetime | None = None
    last_at: datetime | None = None

    window_margin = timedelta(days=2)

    @property
    def subject_hash(self) -> str:
        return tombstones.digest(f"request-{self.kind}", self.key)

    def needles(self) -> list[str]:
        """The strings that show a raw body is about this person: emails, phones as given and in E.164,
        with or without "+", as JSON and form encodings write them."""
        plain: set[str] = set(self.emails)
        for phone in self.phones:
            plain.add(phone)
            if phone.startswith("+"):
                plain.add(phone[1:])
        encoded = {json.dumps(text)[1:-1] for text in plain} | {quote_plus(text) for text in plain}
        return sorted(text for text in plain | encoded if len(text) >= 6)

    def window(self) -> tuple[datetime, datetime] | None:
        """When raw bodies about the person can have come: around their leads' submission and arrival."""
        if self.first_at is None or self.last_at is None:
            return None
        return self.first_at - self.window_margin, self.last_at + self.window_margin

    def tombstone_digests(self) -> dict[str, str]:
        """The subject's own email or phone, buried even when no lead holds it."""
        if self.kind == EMAIL:
            return {tombstones.digest(Tombstone.Kind.EMAIL, self.key): Tombstone.Kind.EMAIL}
        if self.kind == PHONE:
            return {tombstones.digest(Tombstone.Kind.PHONE, self.key): Tombstone.Kind.PHONE}
        return {}


def subject_key(kind: str, value: str) -> str:
    """The subject as compared: a lead's number, a normalised email, an E.164 phone. Raises
    ``SubjectError`` for anything else."""
    text = (value or "").strip()
    if kind == LEAD:
        digits = text.lstrip("#")
        if not digits.isdigit() or len(digits) > 18:
            raise SubjectError(text)
        return digits
    if kind == EMAIL:
        email = tombstones.email_key(text)
        if "@" not in email:
            raise SubjectError(text)
        return email
    if kind == PHONE:
        e164 = phone_to_e164(text)
        if not e164:
            raise SubjectError(text)
        return str(e164)
    raise SubjectError(kind)


def find_person(kind: str, value: str) -> Person:
    """The person a subject names, with every lead of theirs. Raises ``SubjectError``."""
    key = subject_key(kind, value)
    person = Person(kind, key)
    seeds = [int(key)] if kind == LEAD else []
    if kind == LEAD and not Lead.objects.filter(pk=int(key)).exists():
        raise SubjectError(value)
    person.lead_ids = person_lead_ids(seeds, [key] if kind == EMAIL else [], [key] if kind == PHONE else [])
    if kind == EMAIL:
        person.emails.add(key)
    if kind == PHONE:
        person.phones.add(key)
    rows = Lead.objects.filter(pk__in=person.lead_ids).values_list(
        "email",
        "phone",
        "phone_e164",
        "external_source",
        "external_form",
        "external_id",
        "brand_id",
        "submitted_at",
        "received_at",
    )
    for email, phone, e164, source, form, external_id, brand_id, submitted, received in rows:
        person.emails.update(value for value in (email, tombstones.email_key(email)) if value)
        person.phones.update(value for value in (phone, e164) if value)
        if external_id:
            person.refs.add((source, form, external_id))
        person.brand_ids.add(brand_id)
        for moment in (submitted, received):
            person.first_at = min(person.first_at or moment, moment)
            person.last_at = max(person.last_at or moment, moment)
    return person


def out_of_reach(person: Person, user: User) -> list[int]:
    """The person's leads ``user`` may not see (admins see all; others only as the lead listing shows)."""
    if user.is_superuser:
        return []
    visible = set(
        access.leads_for(user, Lead.objects.filter(pk__in=person.lead_ids)).values_list("pk", flat=True)
    )
    return [pk for pk in person.lead_ids if pk not in visible]


def bodies_about(queryset: QuerySet[_Row], person: Person, field_name: str = "body") -> Iterator[_Row]:
    """The rows of ``queryset`` whose raw body (bytes) holds one of the person's needles."""
    needles = [text.encode() for text in person.needles()]
    if not needles:
        return
    for row in queryset.iterator(chunk_size=500):
        body = bytes(getattr(row, field_name) or b"")
        if any(needle in body for needle in needles):
            yield row


def wordpress_sources(refs: Iterable[tuple[str, str, str]]) -> set[int]:
    """The WordPress sources' keys named by leads' external references (``wp-<pk>``)."""
    found = set()
    for source, _form, _key in refs:
        if source.startswith("wp-") and source[3:].isdigit():
            found.add(int(source[3:]))
    return found
