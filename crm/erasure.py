"""Erasing a person from the lead tables: contact fields, payloads, notes, timeline texts and log entries.

Non-personal facts stay (brand, service, source, campaign and UTM source/medium/campaign, status,
assignee, priority, tags, every date, duplicate and merge links, event kinds, channels and outcomes), so
the dashboards count the same after an erasure. Each lead gets an ``anonymised`` event; a tombstone of its
reference, email and phone (``crm.tombstones``) keeps every intake path from bringing it back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from wagtail.models import ModelLogEntry

from core.bulk import bulk_insert

from . import tombstones
from .events import Actor, log_events, new_event
from .models import Brand, FollowUp, Lead, LeadEvent
from .signals import lead_events_recorded

ERASED_FIELDS = {
    "contact_name": "",
    "company": "",
    "email": "",
    "phone": "",
    "phone_e164": "",
    "location": "",
    "service_text": "",
    "message": "",
    "utm_term": "",
    "utm_content": "",
    "external_id": "",
    "raw_payload": {},
    "extra": {},
    "management_note": "",
    "search_text": "",
}
"""Each personal column of a lead and what it becomes."""

# Event kinds whose texts are the system's (status keys, staff usernames, rule and classification notes).
_SYSTEM_TEXT_KINDS = (
    LeadEvent.Kind.CREATED,
    LeadEvent.Kind.CLASSIFIED,
    LeadEvent.Kind.ASSIGNED,
    LeadEvent.Kind.STATUS_CHANGED,
    LeadEvent.Kind.ANONYMISED,
)


def person_lead_ids(seed_ids: Collection[int], emails: Collection[str], phones: Collection[str]) -> list[int]:
    """Every lead of a person: the given leads, the leads sharing their (or the given) emails and E.164
    phones in any brand, and the leads merged into or duplicating any of those, followed to the end."""
    found: set[int] = set(seed_ids)
    emails, phones = set(emails), set(phones)
    for email, e164 in Lead.objects.filter(pk__in=found).values_list("email", "phone_e164"):
        emails.add(email)
        phones.add(e164)
    emails.discard("")
    phones.discard("")
    brand_ids = list(Brand.objects.values_list("pk", flat=True))
    # ``brand__in`` with every brand lets the (brand, email) and (brand, phone) indexes answer.
    if emails:
        found.update(
            Lead.objects.filter(brand_id__in=brand_ids, email__in=emails).values_list("pk", flat=True)
        )
    if phones:
        found.update(
            Lead.objects.filter(brand_id__in=brand_ids, phone_e164__in=phones).values_list("pk", flat=True)
        )
    frontier = set(found)
    while frontier:
        linked = set(Lead.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)) | set(
            Lead.objects.filter(duplicate_of_id__in=frontier).values_list("pk", flat=True)
        )
        for merged, original in Lead.objects.filter(pk__in=frontier).values_list(
            "merged_into_id", "duplicate_of_id"
        ):
            linked.update(key for key in (merged, original) if key)
        frontier = linked - found
        found |= frontier
    return sorted(found)


def lock_leads(lead_ids: Collection[int]) -> None:
    """Lock the leads' rows until the transaction ends: changes being made to them finish first and
    later ones wait for the erasure."""
    list(Lead.objects.select_for_update().filter(pk__in=list(lead_ids)).order_by("pk").values_list("pk"))


def blank_leads(lead_ids: Collection[int], keep: Collection[str] = (), now: datetime | None = None) -> int:
    """Blank the personal columns of these leads (``ERASED_FIELDS`` but those in ``keep``) and the free
    texts beside them: their events' texts (system texts aside), follow-up notes and log entry labels.
    Writes no event; returns how many leads changed."""
    ids = list(lead_ids)
    blanks = {name: value for name, value in ERASED_FIELDS.items() if name not in keep}
    changed = Lead.objects.filter(pk__in=ids).update(**blanks, updated_at=now or timezone.now())
    events = LeadEvent.objects.filter(lead_id__in=ids)
    events.exclude(kind__in=_SYSTEM_TEXT_KINDS).update(from_value="", to_value="", note="", data={})
    events.filter(kind=LeadEvent.Kind.CREATED).update(note="")
    FollowUp.objects.filter(lead_id__in=ids).exclude(note="").update(note="")
    content_type = ContentType.objects.get_for_model(Lead, for_concrete_model=False)
    ModelLogEntry.objects.filter(content_type=content_type, object_id__in=[str(pk) for pk in ids]).update(
        label=Concat(Value("#"), F("object_id")), data={}
    )
    return changed


def record_anonymised(leads: Iterable[Lead], actor: Actor, now: datetime, note: str, data: dict) -> None:
    """One ``anonymised`` event per lead, with its log entry, and the signal feature apps hear."""
    new_events = [
        new_event(lead, LeadEvent.Kind.ANONYMISED, actor, now, note=note, data=data) for lead in leads
    ]
    bulk_insert(new_events)
    log_events(new_events, now)
    lead_events_recorded.send(sender=LeadEvent, events=new_events)


@transaction.atomic
def anonymise_leads(lead_ids: Collection[int], actor: Actor = None, reference: str = "") -> list[Lead]:
    """Erase the personal data of these leads from the lead tables and bury their references, emails and
    phones; one ``anonymised`` event each (``reference``: the request it answers). Returns the leads."""
    tombstones.exclude_intakes()
    leads = list(Lead.objects.select_for_update().filter(pk__in=list(lead_ids)).order_by("pk"))
    if not leads:
        return []
    tombstones.bury(leads)
    now = timezone.now()
    blank_leads([lead.pk for lead in leads], now=now)
    for lead in leads:
        for name, value in ERASED_FIELDS.items():
            setattr(lead, name, value)
        lead.updated_at = now
    record_anonymised(leads, actor, now, reference, {"request": reference})
    return leads
