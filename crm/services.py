"""The verbs on an existing lead: move it, give it away, note, contact, edit, merge, tag, reclassify.

Each verb changes the lead, writes a ``LeadEvent`` and a Wagtail log entry (``crm.events``) in one
transaction, and sends ``crm.signals.lead_event_recorded`` inside that transaction (alerts build their
outbox from it). New leads come in through ``crm.intake``. Admin views, imports, forms and jobs call
these; nothing else writes leads.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import ModelLogEntry

from core.bulk import bulk_insert

from . import classification, deals, followups
from .access import can_act_on_lead, check_status_change
from .assignment import assignable_users
from .classification import Classification
from .duplicates import DUPLICATE_TAG
from .events import Actor, log_events, new_event, record_event
from .intake import junk_status
from .models import CLOSED_STAGES, FollowUp, Lead, LeadEvent, LostReason, PipelineStatus, Stage, User
from .normalise import phone_to_e164
from .search import with_search_text
from .signals import lead_events_recorded

MERGE_FILLABLE_FIELDS = ["contact_name", "company", "email", "phone", "phone_e164", "location", "service"]
"""Contact fields a merge fills on the survivor when it has them blank."""

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
"""The fields ``edit_lead`` changes."""


class StatusConflict(Exception):
    """The lead is no longer in the status the mover saw: someone else moved it meanwhile."""

    def __init__(self, lead: Lead) -> None:
        self.lead = lead
        self.status = lead.status
        super().__init__(
            _("Someone else moved this lead to %(status)s meanwhile; nothing was changed.")
            % {"status": lead.status.display_label}
        )


@transaction.atomic
def change_status(  # noqa: PLR0913 - the move, its follow-up and what closing a lead records
    lead: Lead,
    status: PipelineStatus | str,
    actor: Actor = None,
    note: str = "",
    *,
    enforce_pipeline_rule: bool = True,
    follow_up_at: datetime | None = None,
    follow_up_kind: str = FollowUp.Kind.CALL,
    expected_status: PipelineStatus | None = None,
    lost_reason: LostReason | str | int | None = None,
    won_amount: Decimal | int | str | None = None,
    won_currency: str = "",
) -> Lead:
    """Move a lead to ``status`` (a PipelineStatus or its key).

    With ``expected_status`` (the status the person saw the lead in), a lead that has moved since raises
    ``StatusConflict`` and nothing changes: of two people moving the same lead at once, the second hears.

    A person moving a lead into a status that requires a follow-up gives ``follow_up_at`` unless the lead
    has an open follow-up; with ``follow_up_at`` the follow-up is scheduled in the same step. Closing a
    lead (won, lost, junk) cancels its open follow-ups.

    The money of the move is ``crm.deals``': a person moving a lead into a lost status gives
    ``lost_reason`` (an active ``LostReason``, its key or id); a move into a won status records the day
    and ``won_amount`` in ``won_currency`` (default: the quote's).
    """
    if isinstance(status, str):
        status = PipelineStatus.objects.get(key=status)
    lead = _locked(lead)
    if expected_status is not None and expected_status.pk != lead.status_id:
        raise StatusConflict(lead)
    if status.pk == lead.status_id:
        return lead
    rules_apply = actor is not None and enforce_pipeline_rule
    if rules_apply:
        check_status_change(actor, lead, status)
    reason = deals.lost_reason_from(lost_reason) if status.stage == Stage.LOST else None
    deals.check_move(status, actor, note, reason)
    if (
        rules_apply
        and status.requires_follow_up
        and follow_up_at is None
        and not followups.has_open_follow_up(lead)
    ):
        raise ValidationError(
            _("Moving a lead to %(status)s needs the date of its next follow-up.")
            % {"status": status.display_label},
            code="follow_up_required",
        )
    money = deals.closing(lead, status, lost_reason=reason, won_amount=won_amount, won_currency=won_currency)
    previous = lead.status
    now = timezone.now()
    lead.status = status
    lead.status_changed_at = now
    fields = ["status", "status_changed_at", *money.fields]
    record_event(
        lead,
        LeadEvent.Kind.STATUS_CHANGED,
        actor,
        from_value=previous.key,
        to_value=status.key,
        note=note,
        data=money.data or None,
    )
    fields += _follow_ups_after_move(lead, actor, now, follow_up_at, follow_up_kind)
    _touch(lead, now, fields)
    return lead


def _follow_ups_after_move(
    lead: Lead, actor: Actor, now: datetime, follow_up_at: datetime | None, follow_up_kind: str
) -> list[str]:
    """A closed lead's open follow-ups are cancelled; a move with a date schedules one."""
    if lead.status.stage in CLOSED_STAGES:
        if lead.next_action_at is None and not followups.has_open_follow_up(lead):
            return []
        followups.cancel_open_follow_ups_locked(
            lead,
            actor,
            _("Cancelled: the lead was closed as %(status)s.") % {"status": lead.status.display_label},
            now,
        )
        return ["next_action_at"]
    if follow_up_at is None:
        return []
    followups.schedule_follow_up_locked(
        lead, actor, due_at=follow_up_at, kind=follow_up_kind, assignee=None, note="", now=now
    )
    return ["next_action_at"]


@transaction.atomic
def assign(
    lead: Lead,
    assignee: User | None,
    actor: Actor = None,
    note: str = "",
    *,
    automatic: bool = False,
    data: dict[str, Any] | None = None,
) -> Lead:
    """Give the lead to ``assignee`` (or None to unassign). A pending lead becomes assigned.

    When a person assigns (``actor`` given), the assignee must be active and work for the lead's brand.
    ``data`` adds to the event's data (e.g. the assignment rule).
    """
    lead = _locked(lead)
    if lead.assignee_id == (assignee.pk if assignee else None):
        return lead
    if assignee is not None and actor is not None:
        check_assignee(lead, assignee)
    previous = lead.assignee
    followups.hand_over_locked(lead, previous, assignee)
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
            **(data or {}),
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


def check_assignee(lead: Lead, assignee: User) -> None:
    """Raise ``ValidationError`` unless ``assignee`` is an active person working for the lead's brand."""
    if not assignable_users(lead.brand_id).filter(pk=assignee.pk).exists():
        raise ValidationError(
            _("%(person)s cannot take leads of %(brand)s.") % {"person": assignee, "brand": lead.brand}
        )


@transaction.atomic
def add_note(lead: Lead, actor: Actor, note: str) -> LeadEvent:
    if not note.strip():
        raise ValidationError(_("A note cannot be empty."))
    event = record_event(lead, LeadEvent.Kind.NOTE, actor, note=note)
    _touch(lead)
    return event


@transaction.atomic
def log_contact_attempt(  # noqa: PLR0913 - the attempt and the follow-up it may schedule
    lead: Lead,
    actor: Actor,
    channel: str,
    outcome: str,
    note: str = "",
    *,
    follow_up_at: datetime | None = None,
    follow_up_kind: str = FollowUp.Kind.CALL,
    data: dict[str, Any] | None = None,
) -> LeadEvent:
    """Record a call, email or message to the lead; the first one sets the first-contact time.

    With ``follow_up_at``, the next follow-up is scheduled in the same step. ``data``: what the attempt
    was, when the CRM itself sent it (e.g. ``{"message_id": ...}`` of a WhatsApp message).
    """
    lead = _locked(lead)
    now = timezone.now()
    event = record_event(
        lead, LeadEvent.Kind.CONTACT_ATTEMPT, actor, channel=channel, outcome=outcome, note=note, data=data
    )
    fields = []
    if lead.first_contacted_at is None:
        lead.first_contacted_at = now
        fields.append("first_contacted_at")
    if follow_up_at is not None:
        followups.schedule_follow_up_locked(
            lead, actor, due_at=follow_up_at, kind=follow_up_kind, assignee=None, note="", now=now
        )
        fields.append("next_action_at")
    _touch(lead, now, fields)
    return event


MESSAGE_EXCERPT = 500
"""How much of a received message its timeline event keeps (the conversation keeps it whole)."""


@transaction.atomic
def receive_message(lead: Lead, channel: str, text: str, data: dict[str, Any] | None = None) -> LeadEvent:
    """Record a message the contact sent (WhatsApp, email): a ``message_received`` event, which tells the
    assignee through the alert rules, and activity on the lead."""
    event = record_event(
        lead, LeadEvent.Kind.MESSAGE_RECEIVED, channel=channel, note=_excerpt(text), data=data
    )
    _touch(lead)
    return event


def receive_messages(received: Sequence[tuple[Lead, str, str, dict[str, Any]]]) -> list[LeadEvent]:
    """``receive_message`` for many messages at once, in the order given (``(lead, channel, text, data)``
    each; a batch of webhook bodies): the events and their log entries each in one insert,
    ``lead_events_recorded`` sent once, the leads' last activity in one update. Call inside the transaction
    that stored the messages. Returns the events."""
    if not received:
        return []
    now = timezone.now()
    events = [
        new_event(
            lead, LeadEvent.Kind.MESSAGE_RECEIVED, None, now, channel=channel, note=_excerpt(text), data=data
        )
        for lead, channel, text, data in received
    ]
    bulk_insert(events)
    log_events(events, now)
    lead_events_recorded.send(sender=LeadEvent, events=events)
    leads = {lead.pk: lead for lead, _channel, _text, _data in received}
    for lead in leads.values():
        lead.last_activity_at = lead.updated_at = now
    Lead.objects.filter(pk__in=leads).update(last_activity_at=now, updated_at=now)
    return events


def _excerpt(text: str) -> str:
    return text if len(text) <= MESSAGE_EXCERPT else text[: MESSAGE_EXCERPT - 1] + "…"


@transaction.atomic
def opt_out(lead: Lead, channel: str, note: str = "", data: dict[str, Any] | None = None) -> Lead:
    """The contact asked for no more messages (e.g. replied BAJA): from now on none may be sent to the
    lead. Recorded once, with an ``opted_out`` event; asking again changes nothing."""
    lead = _locked(lead)
    if lead.opted_out_at is not None:
        return lead
    now = timezone.now()
    lead.opted_out_at = now
    record_event(lead, LeadEvent.Kind.OPTED_OUT, channel=channel, note=note, data=data)
    _touch(lead, now, ["opted_out_at"])
    return lead


@transaction.atomic
def edit_lead(lead: Lead, actor: Actor, changes: Mapping[str, Any]) -> Lead:
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
        lead.phone_e164 = phone_to_e164(lead.phone)
    record_event(lead, LeadEvent.Kind.EDITED, actor, to_value=", ".join(changed), data={"changes": changed})
    _touch(lead, fields=[*changed, "phone_e164"] if "phone" in changed else list(changed))
    return lead


@transaction.atomic
def merge_leads(duplicate: Lead, into: Lead, actor: Actor) -> Lead:
    """Merge ``duplicate`` into ``into`` (the survivor). Returns the survivor.

    Nothing is deleted: the duplicate is linked (``merged_into``, ``duplicate_of``) and its events stay
    on it, shown in the survivor's ``Lead.history()``. Blank contact fields of the survivor are filled
    from the duplicate and its tags are copied; both leads get a ``merged`` event.
    """
    if duplicate.pk == into.pk:
        raise ValidationError(_("A lead cannot be merged into itself."))
    locked = {
        lead.pk: lead
        for lead in Lead.objects.select_for_update().filter(pk__in=[duplicate.pk, into.pk]).order_by("pk")
    }
    duplicate, into = locked[duplicate.pk], locked[into.pk]
    if actor is not None and not (
        can_act_on_lead(actor, duplicate, "merge") and can_act_on_lead(actor, into, "merge")
    ):
        raise PermissionDenied(_("You may not merge these leads."))
    if duplicate.brand_id != into.brand_id:
        raise ValidationError(_("Only leads of the same brand can be merged."))
    if duplicate.merged_into_id or into.merged_into_id:
        raise ValidationError(_("One of these leads has already been merged into another."))
    now = timezone.now()
    filled = {}
    for name in MERGE_FILLABLE_FIELDS:
        if not getattr(into, name) and getattr(duplicate, name):
            setattr(into, name, getattr(duplicate, name))
            filled[name] = str(getattr(duplicate, name))
    if duplicate.first_contacted_at and (
        into.first_contacted_at is None or duplicate.first_contacted_at < into.first_contacted_at
    ):
        into.first_contacted_at = duplicate.first_contacted_at
    copied_tags = [tag for tag in duplicate.tags.names() if tag != DUPLICATE_TAG]
    if copied_tags:
        into.tags.add(*copied_tags)
    if into.duplicate_of_id == duplicate.pk:
        into.duplicate_of = None
    Lead.objects.filter(merged_into=duplicate).update(merged_into=into)
    Lead.objects.filter(duplicate_of=duplicate).exclude(pk=into.pk).update(duplicate_of=into)
    duplicate.merged_into = into
    duplicate.merged_at = now
    duplicate.duplicate_of = into
    followups.move_open_follow_ups_locked(duplicate, into)
    record_event(duplicate, LeadEvent.Kind.MERGED, actor, to_value=f"#{into.pk}", data={"into": into.pk})
    record_event(
        into,
        LeadEvent.Kind.MERGED,
        actor,
        from_value=f"#{duplicate.pk}",
        data={"merged_from": duplicate.pk, "filled": filled, "tags": copied_tags},
    )
    _touch(duplicate, now, ["merged_into", "merged_at", "duplicate_of", "next_action_at"])
    _touch(into, now, [*filled, "first_contacted_at", "duplicate_of", "next_action_at"])
    return into


@transaction.atomic
def bulk_assign(leads: Iterable[Lead], assignee: User | None, actor: User, note: str = "") -> int:
    """Assign every lead in ``leads`` (a queryset or list) to ``assignee``; returns how many changed.

    All or nothing: raises ``PermissionDenied`` if ``actor`` may not assign any one of them and
    ``ValidationError`` if the assignee cannot take one of them. Each lead gets its own event.
    """
    target = assignee.pk if assignee else None
    changed = 0
    for lead in _leads_allowed(leads, actor, "assign"):
        if lead.assignee_id != target:
            assign(lead, assignee, actor, note)
            changed += 1
    return changed


@transaction.atomic
def bulk_change_status(
    leads: Iterable[Lead],
    status: PipelineStatus | str,
    actor: User,
    note: str = "",
    *,
    follow_up_at: datetime | None = None,
    lost_reason: LostReason | str | int | None = None,
) -> int:
    """Move every lead in ``leads`` to ``status`` (or its key); returns how many changed.

    All or nothing: raises ``PermissionDenied`` when ``actor`` may not change one of them or the
    pipeline rule forbids the move, ``ValidationError`` when a reason is missing.
    """
    if isinstance(status, str):
        status = PipelineStatus.objects.get(key=status)
    changed = 0
    for lead in _leads_allowed(leads, actor, "change_status"):
        if lead.status_id != status.pk:
            change_status(lead, status, actor, note, follow_up_at=follow_up_at, lost_reason=lost_reason)
            changed += 1
    return changed


@transaction.atomic
def classify(lead: Lead, actor: Actor = None) -> Classification:
    """Run the classification rules again on an existing lead and record a ``classified`` event.

    Returns the ``crm.classification.Classification`` outcome.
    """
    lead = _locked(lead)
    outcome = classification.evaluate(lead)
    previous = lead.status
    outcome.apply(lead)
    fields = ["priority", "skip_alerts", "classification_reason"]
    if lead.status_id != previous.pk:
        lead.status_changed_at = timezone.now()
        fields += ["status", "status_changed_at"]
    if outcome.tags:
        lead.tags.add(*outcome.tags)
    record_event(
        lead,
        LeadEvent.Kind.CLASSIFIED,
        actor,
        from_value=previous.key,
        to_value=lead.status.key,
        note=outcome.reason,
        data=outcome.event_data(),
    )
    _touch(lead, fields=fields)
    return outcome


@transaction.atomic
def tag_lead(lead: Lead, tags: str | Iterable[str], actor: Actor = None, note: str = "") -> LeadEvent | None:
    """Add ``tags`` (a list or one string) to the lead with a ``classified`` event; None if nothing is new."""
    tags = [tags] if isinstance(tags, str) else list(tags)
    present = set(lead.tags.names())
    new = [tag for tag in dict.fromkeys(tag.strip() for tag in tags) if tag and tag not in present]
    if not new:
        return None
    lead.tags.add(*new)
    event = record_event(
        lead, LeadEvent.Kind.CLASSIFIED, actor, to_value=", ".join(new), note=note, data={"tags": new}
    )
    _touch(lead)
    return event


def is_worked(lead: Lead, since: datetime | None = None) -> bool:
    """Whether a person has worked the lead (any event of theirs, a contact, a merge), after ``since`` if given."""
    if since is None and (lead.first_contacted_at or lead.merged_into_id):
        return True
    events = LeadEvent.objects.filter(lead=lead, actor__isnull=False)
    if since is not None:
        events = events.filter(created_at__gt=since)
    return events.exists()


@transaction.atomic
def mark_junk_upstream(lead: Lead, tag: str, reason: str, replaces: Iterable[str] = ()) -> Lead:
    """The website the lead came from marked its submission junk (spam, trash, gone).

    The lead keeps everything and is tagged ``tag`` (in place of any of ``replaces``). Nobody has worked
    it (nothing but system events): it is closed in the junk stage, with ``reason``. A person has: it stays
    where it is, and the tag's ``classified`` event (``data["flagged_upstream"]``) tells its assignee
    through the alert rules. Returns the lead.
    """
    lead = _locked(lead)
    worked = is_worked(lead)
    present = set(lead.tags.names())
    stale = [name for name in replaces if name in present and name != tag]
    if stale:
        lead.tags.remove(*stale)
    if tag not in present:
        lead.tags.add(tag)
    now = timezone.now()
    record_event(
        lead,
        LeadEvent.Kind.CLASSIFIED,
        to_value=tag,
        note=reason,
        data={"tags": [tag], "removed_tags": stale, "flagged_upstream": True, "worked": worked},
    )
    fields = []
    closing = None if worked or lead.status.is_closed else junk_status()
    if closing is not None:
        fields = _move_by_system(
            lead, closing, now, reason, {"closed_upstream": True, "reopen": lead.status.key}
        )
    _touch(lead, now, fields)
    return lead


@transaction.atomic
def clear_junk_upstream(lead: Lead, tags: Collection[str], reason: str) -> Lead:
    """The website took back its junk mark (e.g. "not spam"): the ``tags`` come off, and a lead the mark
    closed goes back to the status it had then, unless a person has touched it since. Returns the lead."""
    lead = _locked(lead)
    removed = [name for name in lead.tags.names() if name in tags]
    if removed:
        lead.tags.remove(*removed)
    now = timezone.now()
    record_event(
        lead,
        LeadEvent.Kind.CLASSIFIED,
        note=reason,
        data={"tags": [], "removed_tags": removed, "flagged_upstream": False},
    )
    fields = []
    closed = (
        LeadEvent.objects.filter(lead=lead, data__closed_upstream=True).order_by("-created_at", "-pk").first()
    )
    if (
        closed is not None
        and closed.to_value == lead.status.key
        and not is_worked(lead, since=closed.created_at)
    ):
        reopened = PipelineStatus.objects.filter(
            key=(closed.data or {}).get("reopen") or closed.from_value
        ).first()
        if reopened is not None and reopened.pk != lead.status_id:
            fields = _move_by_system(lead, reopened, now, reason, {"reopened_upstream": True})
    _touch(lead, now, fields)
    return lead


def _move_by_system(
    lead: Lead, status: PipelineStatus, now: datetime, note: str, data: dict[str, Any]
) -> list[str]:
    """Move ``lead`` to ``status`` outside the pipeline rules (the system, not a person, decides), with
    its status event; returns the fields to save."""
    previous = lead.status
    lead.status = status
    lead.status_changed_at = now
    record_event(
        lead,
        LeadEvent.Kind.STATUS_CHANGED,
        from_value=previous.key,
        to_value=status.key,
        note=note,
        data=data,
    )
    return ["status", "status_changed_at", *_follow_ups_after_move(lead, None, now, None, FollowUp.Kind.CALL)]


def _locked(lead: Lead) -> Lead:
    """The lead's row, fresh and locked until the transaction ends; its relations are read after the lock.

    The lock takes the lead's row alone: were its status joined into the locking query, PostgreSQL would
    check the join again, after waiting, against the status row it read before, and lose a lead whose
    status a concurrent move had just changed (the second of two people moving it would get an error
    instead of hearing it moved).
    """
    return Lead.objects.select_for_update().get(pk=lead.pk)


def _touch(lead: Lead, now: datetime | None = None, fields: Iterable[str] = ()) -> None:
    """Save ``fields`` with the lead's last activity (and its search text when they are searched)."""
    lead.last_activity_at = now or timezone.now()
    lead.save(update_fields=with_search_text(lead, [*fields, "last_activity_at", "updated_at"]))


def _leads_allowed(leads: Iterable[Lead], actor: User, action: str) -> list[Lead]:
    """The leads as a list, after checking ``actor`` may do ``action`` on every one of them."""
    allowed = list(leads.select_related("status", "brand") if hasattr(leads, "select_related") else leads)
    refused = [lead for lead in allowed if not can_act_on_lead(actor, lead, action)]
    if refused:
        raise PermissionDenied(
            _("You may not do this on lead(s) %(leads)s.")
            % {"leads": ", ".join(f"#{lead.pk}" for lead in refused[:20])}
        )
    return allowed


@transaction.atomic
def remove_untouched(leads: QuerySet[Lead]) -> tuple[list[int], int]:
    """Delete the leads of ``leads`` that nobody has worked since they came in: no contact, no merge, no
    event by a person after their creation (an import's revert), with their events and log entries.
    Returns the deleted keys and how many were kept."""
    worked = LeadEvent.objects.filter(
        lead=OuterRef("pk"), actor__isnull=False, created_at__gt=OuterRef("received_at")
    )
    candidates = leads.select_for_update(of=("self",)).order_by("pk")
    total = candidates.count()
    untouched = list(
        candidates.filter(first_contacted_at__isnull=True, merged_into__isnull=True)
        .exclude(Exists(worked))
        .values_list("pk", flat=True)
    )
    lead_type = ContentType.objects.get_for_model(Lead)
    for start in range(0, len(untouched), 1000):
        chunk = untouched[start : start + 1000]
        ModelLogEntry.objects.filter(content_type=lead_type, object_id__in=[str(pk) for pk in chunk]).delete()
        Lead.objects.filter(pk__in=chunk).delete()
    return untouched, total - len(untouched)
