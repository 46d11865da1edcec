"""Keyed hashes of erased people's references, emails and phones, and the checks every intake path makes.

The key derives from ``settings.SECRET_KEY`` (``salted_hmac``): a rotated key forgets every tombstone, so a
key rotation keeps the old key in ``SECRET_KEY_FALLBACKS`` only for sessions, not for these hashes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.db import connection

from .models import Tombstone
from .normalise import normalise_email, phone_to_e164

_SALT = "intralog.crm.tombstones"
# The advisory lock intakes share and an erasure holds alone (PostgreSQL), until their transactions end.
_ERASURE_LOCK = 7_411_253_019


def hold_off_erasures() -> None:
    """Until this transaction ends, no erasure starts (intakes share this; call before checking tombstones).

    An erasure that committed first is seen by the tombstone check that follows; one that starts later
    waits for this transaction and then finds what it created.
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_ERASURE_LOCK])


def exclude_intakes() -> None:
    """Until this transaction ends, wait for running intakes and hold off new ones (for an erasure)."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ERASURE_LOCK])


class Contact(Protocol):
    """What a tombstone is checked against: a lead or a ``LeadData``."""

    email: str
    phone: str
    phone_e164: str
    external_source: str
    external_form: str
    external_id: str


def digest(kind: str, value: str) -> str:
    """The keyed hash of one value of a kind (``Tombstone.Kind``): Django's ``salted_hmac`` with SHA-256,
    its key derived once per secret."""
    mac = _keyed(settings.SECRET_KEY).copy()
    mac.update(f"{kind}:{value}".encode())
    return mac.hexdigest()


@lru_cache(maxsize=2)
def _keyed(secret: str) -> hmac.HMAC:
    return hmac.new(hashlib.sha256(f"{_SALT}{secret}".encode()).digest(), digestmod=hashlib.sha256)


def reference_digest(source: str, form: str, external_id: str) -> str:
    return digest(Tombstone.Kind.REFERENCE, f"{source}\x1f{form}\x1f{external_id}")


def email_key(email: str) -> str:
    """The email as tombstones compare it: normalised, or trimmed and lower-cased when not valid."""
    address, _valid = normalise_email(email)
    return (address or "").strip().lower()


def phone_key(phone: str, phone_e164: str = "") -> str:
    """The phone as tombstones compare it: E.164 when it is a valid number, else its digits."""
    e164 = phone_e164 or phone_to_e164(phone or "")
    return e164 or "".join(ch for ch in phone or "" if ch.isdigit())


def digests_of(contact: Contact) -> dict[str, str]:
    """``{digest: kind}`` of a lead's (or draft's) external reference, email and phone, where given."""
    found: dict[str, str] = {}
    if contact.external_id:
        ref = reference_digest(contact.external_source, contact.external_form, contact.external_id)
        found[ref] = Tombstone.Kind.REFERENCE
    email = email_key(contact.email)
    if email:
        found[digest(Tombstone.Kind.EMAIL, email)] = Tombstone.Kind.EMAIL
    phone = phone_key(contact.phone, contact.phone_e164)
    if len(phone) >= 6:
        found[digest(Tombstone.Kind.PHONE, phone)] = Tombstone.Kind.PHONE
    return found


def bury(contacts: Iterable[Contact], extra: dict[str, str] | None = None) -> int:
    """Tombstones for the contacts' references, emails and phones (and ``extra`` ``{digest: kind}``).
    Returns how many were new."""
    wanted = dict(extra or {})
    for contact in contacts:
        wanted.update(digests_of(contact))
    if not wanted:
        return 0
    known = set(Tombstone.objects.filter(digest__in=list(wanted)).values_list("digest", flat=True))
    new = [Tombstone(kind=kind, digest=key) for key, kind in wanted.items() if key not in known]
    Tombstone.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def erased_indexes(contacts: list[Contact]) -> set[int]:
    """Indexes of the contacts a tombstone matches (their reference, email or phone), in one query.

    Holds off erasures until the transaction ends (``hold_off_erasures``) first, when there is anything
    to check: what is created after this check cannot be missed by an erasure running meanwhile.
    """
    keyed = [digests_of(contact) for contact in contacts]
    every = {key for keys in keyed for key in keys}
    if not every:
        return set()
    hold_off_erasures()
    buried = set(Tombstone.objects.filter(digest__in=list(every)).values_list("digest", flat=True))
    return {index for index, keys in enumerate(keyed) if buried & keys.keys()}


def erased_references(source: str, form: str, external_ids: Iterable[str]) -> set[str]:
    """The external ids of one source's form that were erased, in one query."""
    by_digest = {reference_digest(source, form, key): key for key in external_ids if key}
    if not by_digest:
        return set()
    buried = Tombstone.objects.filter(digest__in=list(by_digest)).values_list("digest", flat=True)
    return {by_digest[key] for key in buried}


def is_erased_phone(phone: str) -> bool:
    """Whether a phone (any form) belongs to an erased person."""
    key = phone_key(phone)
    return len(key) >= 6 and Tombstone.objects.filter(digest=digest(Tombstone.Kind.PHONE, key)).exists()


def is_erased(contact: Contact) -> bool:
    return bool(erased_indexes([contact]))
