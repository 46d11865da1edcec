"""The one path for every change to a lead.

Each function changes the lead, writes a ``LeadEvent`` and a Wagtail log entry in one transaction,
and sends ``crm.signals.lead_event_recorded`` inside that transaction (alerts build their outbox
from it). Admin views, imports, forms and jobs call these; nothing else writes leads.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .models import Lead, LeadEvent, PipelineStatus
from .signals import lead_event_recorded

LOG_ACTIONS = {
    LeadEvent.Kind.CREATED: "wagtail.create",
    LeadEvent.Kind.CLASSIFIED: "crm.lead.classified",
    LeadEvent.Kind.ASSIGNED: "crm.lead.assigned",
    LeadEvent.Kind.STATUS_CHANGED: "crm.lead.status_changed",
    LeadEvent.Kind.NOTE: "crm.lead.note",
    LeadEvent.Kind.CONTACT_ATTEMPT: "crm.lead.contact_attempt",
    LeadEvent.Kind.MERGED: "crm.lead.merged",
    LeadEvent.Kind.EDITED: "wagtail.edit",
}


@dataclass
class LeadData:
    """Normalised input for a new lead, whatever channel it came from."""

    brand: object
    contact_name: str = ""
    company: str = ""
    email: str = ""
    phone: str = ""
    phone_e164: str = ""
    location: str = ""
    service: object = None
    service_text: str = ""
    message: str = ""
    source: object = None
    campaign: object = None
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""
    external_source: str = ""
    external_form: str = ""
    external_id: str = ""
    raw_payload: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    submitted_at: object = None
    tags: list = field(default_factory=list)
    created_by: object = None


def record_event(
    lead, kind, actor=None, *, from_value="", to_value="", note="", channel="", outcome="", data=None
):
    """Write one lead event and its Wagtail log entry. Call inside the transaction that changed the lead."""
    event = LeadEvent.objects.create(
        lead=lead,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        kind=kind,
        from_value=str(from_value or "")[:100],
        to_value=str(to_value or "")[:100],
        note=note,
        channel=channel,
        outcome=outcome,
        data=data or {},
    )
    log(
        instance=lead,
        action=LOG_ACTIONS[kind],
        user=event.actor,
        data={"event": event.pk, "from": event.from_value, "to": event.to_value, "note": note[:500]},
    )
    lead_event_recorded.send(sender=LeadEvent, event=event)
    return event


def _touch(lead, now=None, fields=()):
    lead.last_activity_at = now or timezone.now()
    lead.save(update_fields=[*fields, "last_activity_at", "updated_at"])


def default_status():
    return PipelineStatus.objects.get(key="pending")


@transaction.atomic
def create_lead(data: LeadData, actor=None):
    """Create a lead, classify it, link duplicates and assign it. Returns the lead.

    Raises ``IntegrityError`` when a lead with the same external reference exists; callers that
    import from outside use ``get_or_create_external_lead`` instead.
    """
    from . import assignment, classification, duplicates

    now = timezone.now()
    lead = Lead(
        **{name: getattr(data, name) for name in _LEAD_FIELDS},
        submitted_at=data.submitted_at or now,
        received_at=now,
        status_changed_at=now,
        last_activity_at=now,
        status=default_status(),
    )
    lead.save()
    record_event(
        lead, LeadEvent.Kind.CREATED, actor, to_value=lead.status.key, data={"source": _key(lead.source)}
    )
    if data.tags:
        lead.tags.add(*data.tags)
    classification.classify(lead)
    duplicates.link_duplicate(lead)
    assignment.auto_assign(lead)
    return lead


_LEAD_FIELDS = [
    "brand",
    "contact_name",
    "company",
    "email",
    "phone",
    "phone_e164",
    "location",
    "service",
    "service_text",
    "message",
    "source",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "external_source",
    "external_form",
    "external_id",
    "raw_payload",
    "extra",
    "created_by",
]


def _key(obj):
    return getattr(obj, "key", "") or ""


@transaction.atomic
def change_status(lead, status, actor=None, note="", *, enforce_pipeline_rule=True):
    """Move a lead to ``status`` (a PipelineStatus or its key)."""
    from .access import check_status_change

    if isinstance(status, str):
        status = PipelineStatus.objects.get(key=status)
    lead = Lead.objects.select_for_update().select_related("status").get(pk=lead.pk)
    if status.pk == lead.status_id:
        return lead
    if status.key in ("not_advanced", "not_viable") and not note.strip():
        raise ValidationError(_("Give a reason when a lead is lost or not viable."))
    if actor is not None and enforce_pipeline_rule:
        check_status_change(actor, lead, status)
    previous = lead.status
    now = timezone.now()
    lead.status = status
    lead.status_changed_at = now
    fields = ["status", "status_changed_at"]
    record_event(
        lead, LeadEvent.Kind.STATUS_CHANGED, actor, from_value=previous.key, to_value=status.key, note=note
    )
    _touch(lead, now, fields)
    return lead


@transaction.atomic
def assign(lead, assignee, actor=None, note="", *, automatic=False):
    """Give the lead to ``assignee`` (or None to unassign). A pending lead becomes assigned."""
    lead = Lead.objects.select_for_update().select_related("status", "assignee").get(pk=lead.pk)
    if lead.assignee_id == (assignee.pk if assignee else None):
        return lead
    previous = lead.assignee
    now = timezone.now()
    lead.assignee = assignee
    lead.assigned_at = now if assignee else None
    fields = ["assignee", "assigned_at"]
    record_event(
        lead,
        LeadEvent.Kind.ASSIGNED,
        actor,
        from_value=previous.get_username() if previous else "",
        to_value=assignee.get_username() if assignee else "",
        note=note,
        data={
            "from_id": previous.pk if previous else None,
            "to_id": assignee.pk if assignee else None,
            "automatic": automatic,
        },
    )
    if assignee and lead.status.key == "pending":
        assigned = PipelineStatus.objects.get(key="assigned")
        record_event(lead, LeadEvent.Kind.STATUS_CHANGED, actor, from_value="pending", to_value="assigned")
        lead.status = assigned
        lead.status_changed_at = now
        fields += ["status", "status_changed_at"]
    _touch(lead, now, fields)
    return lead


@transaction.atomic
def add_note(lead, actor, note):
    if not note.strip():
        raise ValidationError(_("A note cannot be empty."))
    event = record_event(lead, LeadEvent.Kind.NOTE, actor, note=note)
    _touch(lead)
    return event


@transaction.atomic
def log_contact_attempt(lead, actor, channel, outcome, note=""):
    """Record a call, email or message to the lead; the first one sets the first-contact time."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    now = timezone.now()
    event = record_event(
        lead, LeadEvent.Kind.CONTACT_ATTEMPT, actor, channel=channel, outcome=outcome, note=note
    )
    fields = []
    if lead.first_contacted_at is None:
        lead.first_contacted_at = now
        fields.append("first_contacted_at")
    _touch(lead, now, fields)
    return event


EDITABLE_FIELDS = [
    "contact_name",
    "company",
    "email",
    "phone",
    "location",
    "service",
    "message",
    "brand",
    "source",
    "campaign",
    "priority",
    "management_note",
]


@transaction.atomic
def edit_lead(lead, actor, changes):
    """Apply field ``changes`` (a dict) and record one ``edited`` event listing them."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    changed = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            raise ValidationError(_("The field “%(field)s” cannot be edited here.") % {"field": name})
        old = getattr(lead, name)
        if old != value:
            changed[name] = {
                "from": str(old) if old is not None else "",
                "to": str(value) if value is not None else "",
            }
            setattr(lead, name, value)
    if not changed:
        return lead
    if "phone" in changed:
        from .normalise import phone_to_e164

        lead.phone_e164 = phone_to_e164(lead.phone)
    record_event(lead, LeadEvent.Kind.EDITED, actor, to_value=", ".join(changed), data={"changes": changed})
    _touch(lead, fields=[*changed, "phone_e164"] if "phone" in changed else list(changed))
    return lead
