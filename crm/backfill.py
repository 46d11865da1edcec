"""Leads brought in with their past (an import from another CRM): their own status, owner, dates and events.

Unlike ``crm.intake``, nothing is classified, linked or assigned by rule: the lead arrives as the other
system left it, and its history arrives as ``LeadEvent``s at their original times with their original
actors, each with its Wagtail log entry (stamped with the event's time). Nothing is signalled: an import
alerts nobody, and whoever imports rebuilds the figures kept from events afterwards. A lead reaches the
CRM now (``received_at``), so a lead submitted long ago is a backfill (``crm.models.backfill_q``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import get_active_log_context
from wagtail.models import ModelLogEntry

from core.bulk import build, bulk_insert, insert_rows

from . import lead_fields
from .events import LOG_ACTIONS, _log_data, _log_values, new_event
from .intake import LeadData, normalise_email
from .models import Lead, LeadEvent, PipelineStatus, User
from .normalise import phone_to_e164
from .search import lead_search_text


@dataclass
class PastEvent:
    """Something that happened to a lead in the other system, when and by whom (None: unknown/system)."""

    kind: str
    at: datetime
    actor: User | None = None
    from_value: str = ""
    to_value: str = ""
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class PastLead:
    """A lead as the other system left it: its fields, status, owner, dates and the events to add."""

    data: LeadData
    status: PipelineStatus
    assignee: User | None = None
    assigned_at: datetime | None = None
    status_changed_at: datetime | None = None
    first_contacted_at: datetime | None = None
    management_note: str = ""
    events: list[PastEvent] = field(default_factory=list)


FIELDS_KEPT = (
    "status",
    "assignee",
    "assigned_at",
    "status_changed_at",
    "first_contacted_at",
    "management_note",
)
"""What ``update_past_leads`` sets on a saved lead besides the intake fields."""


def _values(item: PastLead) -> tuple[dict[str, Any], dict[str, Any]]:
    data = item.data
    values = {name: getattr(data, name) for name in lead_fields.intake_names()}
    values["email"] = normalise_email(values["email"])
    if values["phone"] and not values["phone_e164"]:
        values["phone_e164"] = phone_to_e164(values["phone"])
    values["search_text"] = lead_search_text(values)
    related = {name: values.pop(name) for name in lead_fields.intake_relations()}
    related.update(status=item.status, assignee=item.assignee, created_by=data.created_by)
    return values, related


def _last_time(item: PastLead, submitted: datetime) -> datetime:
    return max([submitted, *(event.at for event in item.events)])


@transaction.atomic
def create_past_leads(items: Sequence[PastLead]) -> list[Lead]:
    """Save new leads with their past in a few queries (leads, events, log entries); returns the leads."""
    if not items:
        return []
    now = timezone.now()
    leads = []
    for item in items:
        values, related = _values(item)
        submitted = min(item.data.submitted_at or now, now)
        values.update(
            submitted_at=submitted,
            received_at=now,
            assigned_at=item.assigned_at if item.assignee is not None else None,
            status_changed_at=item.status_changed_at or submitted,
            last_activity_at=_last_time(item, submitted),
            first_contacted_at=item.first_contacted_at,
            management_note=item.management_note,
        )
        leads.append(build(Lead, values, related))
    bulk_insert(leads)
    add_past_events([(lead, item.events) for lead, item in zip(leads, items, strict=True)])
    return leads


def add_past_events(pairs: Sequence[tuple[Lead, Sequence[PastEvent]]]) -> list[LeadEvent]:
    """Save past events of saved leads, with their log entries at the events' own times."""
    events = [
        new_event(
            lead,
            past.kind,
            past.actor,
            past.at,
            from_value=past.from_value,
            to_value=past.to_value,
            note=past.note,
            data=past.data,
        )
        for lead, pasts in pairs
        for past in pasts
    ]
    if not events:
        return events
    bulk_insert(events)
    _log_past(events)
    return events


def _log_past(events: list[LeadEvent]) -> None:
    """``crm.events.log_events`` with each entry stamped at its event's time."""
    context = get_active_log_context()
    content_type = ContentType.objects.get_for_model(Lead, for_concrete_model=False)
    rows, checked = [], set()
    for event in events:
        action = LOG_ACTIONS[event.kind]
        values, related = _log_values(
            event.lead, action, event.actor, _log_data(event), event.created_at, context, content_type
        )
        if action not in checked:
            build(ModelLogEntry, values, related).full_clean(exclude=["content_type", "user"])
            checked.add(action)
        user = related["user"]
        values.update(content_type_id=content_type.pk, user_id=user.pk if user is not None else None)
        rows.append(values)
    insert_rows(ModelLogEntry, rows)


@transaction.atomic
def update_past_leads(items: Sequence[tuple[Lead, PastLead, str]]) -> None:
    """Bring saved leads up to date with the other system: ``(lead, past lead, why)``; the intake fields and
    ``FIELDS_KEPT`` are set, the past lead's (new) events added, and an ``edited`` event with ``why`` (the
    changed fields) is written at the import's time when ``why`` is not empty."""
    if not items:
        return
    now = timezone.now()
    names = [*(name for name in lead_fields.intake_names() if name not in ("raw_payload",)), "search_text"]
    changed = []
    for lead, item, why in items:
        values, related = _values(item)
        for name, value in values.items():
            setattr(lead, name, value)
        for name, value in related.items():
            setattr(lead, name, value)
        lead.assigned_at = item.assigned_at if item.assignee is not None else None
        lead.status_changed_at = item.status_changed_at or lead.submitted_at
        lead.first_contacted_at = item.first_contacted_at
        lead.management_note = item.management_note
        lead.last_activity_at = max(lead.last_activity_at, _last_time(item, lead.submitted_at))
        lead.updated_at = now
        if why:
            item.events.append(PastEvent(LeadEvent.Kind.EDITED, now, note=why, data={"imported": True}))
        changed.append(lead)
    attnames = [field.attname for field in Lead._meta.concrete_fields if field.name in names]
    Lead.objects.bulk_update(
        changed, [*attnames, *FIELDS_KEPT, "raw_payload", "last_activity_at", "updated_at"], batch_size=500
    )
    add_past_events([(lead, item.events) for lead, item, _why in items])
