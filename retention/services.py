"""Anonymising leads past their retention period: the lead tables blanked as an erasure blanks them
(``crm.erasure.blank_leads``, without a tombstone), the feature apps' raw records beside them emptied,
one ``anonymised`` event per lead. Set-based UPDATEs per batch.
"""

from collections.abc import Iterable, Iterator, Sequence

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from conversations.models import Conversation, Message
from crm.erasure import ERASED_FIELDS, blank_leads, record_anonymised
from crm.events import Actor
from crm.models import Lead
from forms_builder.models import LeadFormSubmission
from wordpress.models import Submission

BATCH = 2000

KEPT = ("external_id",)
"""Left on an anonymised lead: its external reference stops a re-sync from bringing the record back, while
the person may still come back later as a new lead (no tombstone, unlike an erasure)."""


def has_personal_data() -> Q:
    """Leads with something ``anonymise_leads`` would blank."""
    condition = Q()
    for name, empty in ERASED_FIELDS.items():
        if name not in (*KEPT, "search_text"):
            condition |= ~Q(**{name: empty})
    return condition


def anonymise_leads(leads: QuerySet[Lead] | Iterable[int], actor: Actor, reason: str) -> int:
    """Blank the personal data of ``leads`` (a queryset or lead ids), in batches of ``BATCH``.

    Each lead gets one ``anonymised`` event (``data["anonymised"]`` holds ``reason``) with its log entry,
    all written in bulk, and ``crm.signals.lead_events_recorded`` is sent per batch. Returns how many leads.
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
    if not blank_leads(ids, keep=KEPT, now=now):
        return 0
    _blank_related(ids)
    leads = list(
        Lead.objects.filter(pk__in=ids).only("pk", "brand_id", "status_id", "assignee_id").order_by("pk")
    )
    record_anonymised(leads, actor, now, "", {"anonymised": {"reason": reason}})
    return len(leads)


def _blank_related(ids: Sequence[int]) -> None:
    """What the feature apps keep beside the leads: conversation addresses and message texts (received
    files stay on disk) and the raw records the leads were read from."""
    Conversation.objects.filter(lead_id__in=ids).exclude(address="").update(address="")
    Message.objects.filter(lead_id__in=ids).update(body="", template_parameters=[], media_name="")
    Submission.objects.filter(lead_id__in=ids).exclude(payload={}).update(payload={})
    LeadFormSubmission.objects.filter(lead_id__in=ids).exclude(form_data={}).update(form_data={})
