"""Duplicate detection: the same normalised email or E.164 phone within a brand.

A repeat is linked to the earliest original and tagged; nothing is merged silently
(``crm.services.merge_leads`` is the explicit merge).
"""

from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext as _

from .models import Lead

DUPLICATE_TAG = "duplicate"


def lock_contact(lead):
    """On PostgreSQL, serialise creations sharing this brand+email or brand+phone until commit.

    Two copies of one submission arriving together would otherwise both see no original.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted(
        f"crm.lead:{lead.brand_id}:{kind}:{value}"
        for kind, value in (("email", lead.email if "@" in lead.email else ""), ("phone", lead.phone_e164))
        if value
    )
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def find_original(lead):
    """The original lead that ``lead`` repeats, or None.

    The earliest other lead of the same brand sharing the email or the E.164 phone; when that one is
    itself a duplicate, its original (duplicates always point at the root). Works on an unsaved lead.
    """
    match = Q()
    if lead.email and "@" in lead.email:
        match |= Q(email=lead.email)
    if lead.phone_e164:
        match |= Q(phone_e164=lead.phone_e164)
    if not match:
        return None
    candidates = Lead.objects.filter(match, brand_id=lead.brand_id).select_related("duplicate_of")
    if lead.pk is not None:
        candidates = candidates.exclude(pk=lead.pk)
    earliest = candidates.order_by("received_at", "pk").first()
    if earliest is None:
        return None
    return earliest.duplicate_of or earliest


def record_duplicate(lead, original, *, tag=True):
    """Tag ``lead`` (already linked to ``original``) and record a ``classified`` event.

    ``tag=False`` when the caller has added the tag already.
    """
    from .models import LeadEvent
    from .services import record_event

    if tag:
        lead.tags.add(DUPLICATE_TAG)
    return record_event(
        lead,
        LeadEvent.Kind.CLASSIFIED,
        to_value=DUPLICATE_TAG,
        note=_("Repeats lead #%(pk)s.") % {"pk": original.pk},
        data={"duplicate_of": original.pk, "tags": [DUPLICATE_TAG]},
    )


def link_duplicate(lead):
    """Link a saved lead to the earlier one it repeats and tag it. Returns the original or None."""
    original = find_original(lead)
    if original is None:
        return None
    lead.duplicate_of = original
    lead.save(update_fields=["duplicate_of"])
    record_duplicate(lead, original)
    return original
