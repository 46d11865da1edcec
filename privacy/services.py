"""Personal-data requests: export a person's data or erase it, each written to the request log.

Admins may act on anyone. Someone else needs the ``privacy.manage_personal_data`` permission and may act
only on a person all of whose leads they can see: a manager of one brand cannot erase a person who also
has leads in another brand (an admin does it, for both).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import erasure, tombstones
from crm.models import Brand, User

from .deadlines import due_on
from .erase import erase_feature_tables
from .export import Section, collect
from .models import PrivacyRequest
from .subjects import Person, find_person, out_of_reach

PERMISSION = "privacy.manage_personal_data"


def may_manage(user: Any) -> bool:
    """Whether the person may export or erase personal data at all."""
    return bool(getattr(user, "is_active", False) and user.has_perm(PERMISSION))


def _check(person: Person, user: User) -> None:
    if not may_manage(user):
        raise PermissionDenied
    hidden = out_of_reach(person, user)
    if hidden:
        raise PermissionDenied(
            _(
                "This person has %(count)s lead(s) you cannot see (another brand or person): "
                "an admin must handle this request."
            )
            % {"count": len(hidden)}
        )


def _log(person: Person, user: User, action: str, outcome: dict[str, Any]) -> PrivacyRequest:
    now = timezone.now()
    brands = sorted(Brand.objects.filter(pk__in=person.brand_ids).values_list("code", flat=True))
    return PrivacyRequest.objects.create(
        action=action,
        subject_kind=person.kind,
        subject_hash=person.subject_hash,
        lead_ids=person.lead_ids,
        brands=brands,
        requested_by=user,
        requested_at=now,
        due_on=due_on(timezone.localdate(now)),
        completed_at=now,
        outcome=outcome,
    )


def export_person(kind: str, value: str, user: User) -> tuple[PrivacyRequest, dict[str, Section]]:
    """Everything held about the person (``privacy.export.collect``), logged. Raises ``SubjectError``
    for a subject that names nothing, ``PermissionDenied`` when ``user`` may not."""
    person = find_person(kind, value)
    _check(person, user)
    sections = collect(person)
    counts = {name: len(rows) for name, rows in sections.items()}
    return _log(person, user, PrivacyRequest.Action.EXPORT, {"exported": counts}), sections


@transaction.atomic
def erase_person(kind: str, value: str, user: User) -> PrivacyRequest:
    """Erase the person from every table and bury their references, emails and phones, logged.

    Running intakes finish first and new ones wait (``crm.tombstones.exclude_intakes``), so a sync
    running meanwhile either created its lead before (it is erased here) or finds the tombstone after.
    """
    tombstones.exclude_intakes()
    person = find_person(kind, value)
    _check(person, user)
    erasure.lock_leads(person.lead_ids)
    request = _log(person, user, PrivacyRequest.Action.ERASE, {})
    done: Counter[str] = erase_feature_tables(person)
    leads = erasure.anonymise_leads(person.lead_ids, user, reference=f"privacy-request:{request.pk}")
    done["leads"] = len(leads)
    done["tombstones"] = tombstones.bury([], person.tombstone_digests()) + _bury_known(person)
    request.outcome = {"erased": {name: count for name, count in done.items() if count}}
    request.completed_at = timezone.now()
    request.save(update_fields=["outcome", "completed_at"])
    return request


def _bury_known(person: Person) -> int:
    """Tombstones of every email, phone and reference the person was found by (the leads' own are
    buried by ``anonymise_leads``; these cover what no lead holds any more)."""
    extra: dict[str, str] = {}
    for email in person.emails:
        key = tombstones.email_key(email)
        if key:
            extra[tombstones.digest("email", key)] = "email"
    for phone in person.phones:
        key = tombstones.phone_key(phone)
        if len(key) >= 6:
            extra[tombstones.digest("phone", key)] = "phone"
    for source, form, external_id in person.refs:
        extra[tombstones.reference_digest(source, form, external_id)] = "ref"
    return tombstones.bury([], extra)
