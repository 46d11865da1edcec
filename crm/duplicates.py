"""Duplicate detection: the same normalised email or phone within a brand."""

from django.db.models import Q

from .models import Lead

DUPLICATE_TAG = "duplicate"


def find_original(lead):
    """The earliest other lead of the same brand sharing the email or the E.164 phone, or None."""
    match = Q()
    if lead.email and "@" in lead.email:
        match |= Q(email=lead.email)
    if lead.phone_e164:
        match |= Q(phone_e164=lead.phone_e164)
    if not match:
        return None
    return (
        Lead.objects.filter(match, brand_id=lead.brand_id, duplicate_of__isnull=True)
        .exclude(pk=lead.pk)
        .order_by("received_at", "pk")
        .first()
    )


def link_duplicate(lead):
    """Link a new lead to the earlier one it repeats and tag it; nothing is merged."""
    from .models import LeadEvent
    from .services import record_event

    original = find_original(lead)
    if original is None:
        return None
    lead.duplicate_of = original
    lead.save(update_fields=["duplicate_of"])
    lead.tags.add(DUPLICATE_TAG)
    record_event(
        lead,
        LeadEvent.Kind.CLASSIFIED,
        to_value=DUPLICATE_TAG,
        note=f"#{original.pk}",
        data={"duplicate_of": original.pk},
    )
    return original
