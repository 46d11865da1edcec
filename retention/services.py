"""Anonymising leads: their personal data blanked, the facts dashboards count kept, one event per lead.

Self-contained on purpose (the personal-data erasure of issue 19 item 2 may later share it): the lead row,
its events' and follow-ups' free texts, its Wagtail log entries' labels and notes, its conversations'
addresses and message texts, and the raw records it was read from (WordPress submission, lead-form submission) are emptied with set-based UPDATEs per batch.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils import timezone
from wagtail.models import ModelLogEntry

from conversations.models import Conversation, Message
from core.bulk import bulk_insert
from crm.events import Actor, log_events, new_event
from crm.models import FollowUp, Lead, LeadEvent
from crm.signals import lead_events_recorded
from forms_builder.models import LeadFormSubmission
from wordpress.models import Submission

BATCH = 2000

BLANKS: dict[str, Any] = {
    "contact_name": "",
    "company": "",
    "email": "",
    "phone": "",
    "phone_e164": "",
    "location": "",
    "service_text": "",
    "message": "",
    "management_note": "",
    "raw_payload": {},
    "extra": {},
    "search_text": "",
}
"""The lead's personal fields and their empty values; status, dates, brand, service, source, campaign,
UTM values, tags and the external reference (which stops a re-sync from bringing the person back) stay."""

EVENT_NOTE = "anonymised"


def has_personal_data() -> Q:
    """Leads with something ``anonymise_leads`` would blank."""
    condition = Q()
    for name, empty in BLANKS.items():
        if name != "search_text":
            condition |= ~Q(**{name: empty})
    return condition


def anonymise_leads(leads: QuerySet[Lead] | Iterable[int], actor: Actor, reason: str) -> int:
    """Blank the personal data of ``leads`` (a queryset or lead ids), in batches of ``BATCH``.

    Each lead gets one ``edited`` event (``data["anonymised"]`` holds ``reason``) with its log entry, all
    written in bulk, and ``crm.signals.lead_events_recorded`` is sent per batch. Returns how many leads.
    """
    if isinstance(leads, QuerySet):
        ids = sorted(set(leads.values_list("pk", flat=True)))
    else:
        ids = sorted({int(pk) for pk in leads})
    done = 0
    for chunk in _chunks(ids, BATCH):
        with transaction.atomic():
            done += _anonymise_batch(chunk, actor, reason)
    return done


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _anonymise_batch(ids: Sequence[int], actor: Actor, reason: str) -> int:
    now = timezone.now()
    changed = Lead.objects.filter(pk__in=ids).update(**BLANKS, updated_at=now)
    if not changed:
        return 0
    _blank_related(ids)
    leads = list(
        Lead.objects.filter(pk__in=ids)
        .only("pk", "brand_id", "status_id", "assignee_id", "contact_name", "company", "email")
        .order_by("pk")
    )
    events = [
        new_event(
            lead,
            LeadEvent.Kind.EDITED,
            actor,
            now,
            to_value=EVENT_NOTE,
            data={"anonymised": {"reason": reason}, "fields": sorted(BLANKS)},
        )
        for lead in leads
    ]
    bulk_insert(events)
    log_events(events, now)
    lead_events_recorded.send(sender=LeadEvent, events=events)
    return len(leads)


def _blank_related(ids: Sequence[int]) -> None:
    """The free texts kept beside the leads: event notes and edit values, follow-up notes, log entries,
    conversation addresses and message texts (received files stay on disk), and the raw records the
    leads were read from."""
    events = LeadEvent.objects.filter(lead_id__in=ids)
    events.exclude(note="").update(note="")
    events.filter(kind=LeadEvent.Kind.EDITED).exclude(data={}).update(data={})
    events.filter(kind=LeadEvent.Kind.MESSAGE_RECEIVED).exclude(data={}).update(data={})
    FollowUp.objects.filter(lead_id__in=ids).exclude(note="").update(note="")
    content_type = ContentType.objects.get_for_model(Lead, for_concrete_model=False)
    entries = ModelLogEntry.objects.filter(content_type=content_type, object_id__in=[str(pk) for pk in ids])
    entries.update(label=Concat(Value("#"), F("object_id")))
    entries.filter(data__note__gt="").update(data={})
    Conversation.objects.filter(lead_id__in=ids).exclude(address="").update(address="")
    Message.objects.filter(lead_id__in=ids).update(body="", template_parameters=[], media_name="")
    Submission.objects.filter(lead_id__in=ids).exclude(payload={}).update(payload={})
    LeadFormSubmission.objects.filter(lead_id__in=ids).exclude(form_data={}).update(form_data={})
