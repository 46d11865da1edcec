"""What a lead change leaves behind: a ``LeadEvent`` and the Wagtail log entry that mirrors it.

``record_event`` writes both for one change and sends ``crm.signals.lead_event_recorded``; the batch
path builds events with ``new_event``, saves them with ``core.bulk`` and logs them with ``log_events``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from wagtail.log_actions import LogContext, get_active_log_context, log
from wagtail.log_actions import registry as log_registry
from wagtail.models import ModelLogEntry

from core.bulk import build, insert_rows

from .models import Lead, LeadEvent, User
from .signals import lead_event_recorded

Actor = User | AnonymousUser | None
"""Who made a change: a person, or None (or an anonymous user) for the system."""

LOG_ACTIONS: dict[str, str] = {
    LeadEvent.Kind.CREATED: "wagtail.create",
    LeadEvent.Kind.CLASSIFIED: "crm.lead.classified",
    LeadEvent.Kind.ASSIGNED: "crm.lead.assigned",
    LeadEvent.Kind.STATUS_CHANGED: "crm.lead.status_changed",
    LeadEvent.Kind.NOTE: "crm.lead.note",
    LeadEvent.Kind.CONTACT_ATTEMPT: "crm.lead.contact_attempt",
    LeadEvent.Kind.MERGED: "crm.lead.merged",
    LeadEvent.Kind.EDITED: "wagtail.edit",
    LeadEvent.Kind.FOLLOW_UP: "crm.lead.follow_up",
    LeadEvent.Kind.MESSAGE_RECEIVED: "crm.lead.message_received",
    LeadEvent.Kind.OPTED_OUT: "crm.lead.opted_out",
    LeadEvent.Kind.ANONYMISED: "crm.lead.anonymised",
    LeadEvent.Kind.QUOTED: "crm.lead.quoted",
    LeadEvent.Kind.WON_VALUE: "crm.lead.won_value",
}
"""The Wagtail log action of each event kind."""


def record_event(  # noqa: PLR0913 - known debt (ARCHITECTURE.md, Habits)
    lead: Lead,
    kind: str,
    actor: Actor = None,
    *,
    from_value: object = "",
    to_value: object = "",
    note: str = "",
    channel: str = "",
    outcome: str = "",
    data: dict[str, Any] | None = None,
) -> LeadEvent:
    """Write one lead event and its Wagtail log entry. Call inside the transaction that changed the lead."""
    event = new_event(
        lead,
        kind,
        actor,
        timezone.now(),
        from_value=from_value,
        to_value=to_value,
        note=note,
        channel=channel,
        outcome=outcome,
        data=data,
    )
    event.save()
    log_lead(lead, LOG_ACTIONS[kind], event.actor, _log_data(event))
    lead_event_recorded.send(sender=LeadEvent, event=event)
    return event


def new_event(  # noqa: PLR0913 - known debt (ARCHITECTURE.md, Habits)
    lead: Lead,
    kind: str,
    actor: Actor,
    now: datetime,
    *,
    from_value: object = "",
    to_value: object = "",
    note: str = "",
    channel: str = "",
    outcome: str = "",
    data: dict[str, Any] | None = None,
) -> LeadEvent:
    """An unsaved event of ``lead`` at ``now``; values are cut to their column's length."""
    return build(
        LeadEvent,
        {
            "kind": kind,
            "from_value": str(from_value or "")[:100],
            "to_value": str(to_value or "")[:100],
            "note": note,
            "channel": channel,
            "outcome": outcome,
            "data": data or {},
            "created_at": now,
        },
        {"lead": lead, "actor": actor if getattr(actor, "is_authenticated", False) else None},
    )


def log_lead(lead: Lead, action: str, user: User | None, data: dict[str, Any]) -> ModelLogEntry | None:
    """Write the Wagtail log entry of a lead change, as ``wagtail.log_actions.log`` does.

    ``ModelLogEntry.save`` runs ``full_clean``, which checks with a query each that the content type
    and the user exist; both come from memory here, so the entry is validated without them.
    """
    if not _logs_to_model_log_entries(lead):
        return log(instance=lead, action=action, user=user, data=data)
    entry = _log_entry(lead, action, user, data, timezone.now(), get_active_log_context())
    entry.full_clean(exclude=["content_type", "user"])
    models.Model.save(entry)
    return entry


def log_events(events: list[LeadEvent], now: datetime) -> None:
    """The Wagtail log entries of saved events, in one insert; each action is validated once."""
    if not _logs_to_model_log_entries(events[0].lead):
        for event in events:
            log(instance=event.lead, action=LOG_ACTIONS[event.kind], user=event.actor, data=_log_data(event))
        return
    context = get_active_log_context()
    content_type = ContentType.objects.get_for_model(events[0].lead, for_concrete_model=False)
    rows, checked = [], set()
    for event in events:
        action = LOG_ACTIONS[event.kind]
        values, related = _log_values(
            event.lead, action, event.actor, _log_data(event), now, context, content_type
        )
        if action not in checked:
            build(ModelLogEntry, values, related).full_clean(exclude=["content_type", "user"])
            checked.add(action)
        user = related["user"]
        values.update(content_type_id=content_type.pk, user_id=user.pk if user is not None else None)
        rows.append(values)
    insert_rows(ModelLogEntry, rows)


def _log_data(event: LeadEvent) -> dict[str, Any]:
    return {"event": event.pk, "from": event.from_value, "to": event.to_value, "note": event.note[:500]}


def _logs_to_model_log_entries(lead: Lead) -> bool:
    """Whether lead log entries go to Wagtail's ``ModelLogEntry`` table (directly or through a proxy)."""
    log_model = log_registry.get_log_model_for_instance(lead)
    return log_model is not None and log_model._meta.concrete_model is ModelLogEntry


def _log_entry(
    lead: Lead,
    action: str,
    user: User | None,
    data: dict[str, Any],
    now: datetime,
    context: LogContext,
    content_type: ContentType | None = None,
) -> ModelLogEntry:
    content_type = content_type or ContentType.objects.get_for_model(lead, for_concrete_model=False)
    return build(ModelLogEntry, *_log_values(lead, action, user, data, now, context, content_type))


def _log_values(
    lead: Lead,
    action: str,
    user: User | None,
    data: dict[str, Any],
    now: datetime,
    context: LogContext,
    content_type: ContentType,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A log entry's ``(values, related objects)`` for ``build`` or, merged as ids, ``insert_rows``."""
    values = {
        "object_id": str(lead.pk),
        "label": ModelLogEntry.objects.get_instance_title(lead),
        "action": action,
        "timestamp": now,
        "data": data or {},
        "uuid": context.uuid,
    }
    return values, {"content_type": content_type, "user": user or context.user}
