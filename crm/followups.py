"""Follow-ups on a lead: schedule, reschedule, complete and cancel them, and keep the lead's next action.

Every change writes a ``follow_up`` lead event (``to_value``: scheduled, rescheduled, done, cancelled;
``data``: the follow-up, its kind and due times) and keeps ``Lead.next_action_at`` equal to the due time
of the lead's earliest open follow-up. The public verbs lock the lead and save it; ``crm.services`` uses
the ``*_locked`` helpers inside its own verbs (a status move that needs a date, a contact attempt that
schedules the next one, closing, merging, reassigning).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from .access import can_act_on_lead, can_see_lead
from .assignment import assignable_users
from .events import Actor, record_event
from .models import CLOSED_STAGES, FollowUp, Lead, LeadEvent, Role, User

PAST_GRACE = timedelta(minutes=5)
"""How far in the past a due time may be (the minutes it took to fill the form)."""


class Change(models.TextChoices):
    """The ``to_value`` of a follow-up event."""

    SCHEDULED = "scheduled", pgettext_lazy("follow-up", "scheduled")
    RESCHEDULED = "rescheduled", pgettext_lazy("follow-up", "rescheduled")
    DONE = "done", pgettext_lazy("follow-up", "done")
    CANCELLED = "cancelled", pgettext_lazy("follow-up", "cancelled")


def open_follow_ups(lead: Lead) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(lead_id=lead.pk, state=FollowUp.State.OPEN)


def has_open_follow_up(lead: Lead) -> bool:
    return open_follow_ups(lead).exists()


@transaction.atomic
def schedule_follow_up(  # noqa: PLR0913 - the task's own fields
    lead: Lead,
    actor: Actor,
    *,
    due_at: datetime,
    kind: str = FollowUp.Kind.CALL,
    assignee: User | None = None,
    note: str = "",
) -> FollowUp:
    """Add a follow-up to ``lead``, for ``assignee`` (default: the lead's assignee, else ``actor``)."""
    lead = _locked(lead)
    _check_actor(actor, lead)
    now = timezone.now()
    follow_up = schedule_follow_up_locked(
        lead, actor, due_at=due_at, kind=kind, assignee=assignee, note=note, now=now
    )
    _save(lead, now)
    return follow_up


@transaction.atomic
def reschedule_follow_up(  # noqa: PLR0913 - the task's own fields
    follow_up: FollowUp,
    actor: Actor,
    *,
    due_at: datetime,
    kind: str | None = None,
    assignee: User | None = None,
    note: str | None = None,
) -> FollowUp:
    """Move an open follow-up to ``due_at`` (and change its kind, person or note when given)."""
    lead = _locked(follow_up.lead)
    _check_actor(actor, lead)
    follow_up = _locked_follow_up(follow_up, lead)
    now = timezone.now()
    _check_due(due_at, now)
    previous_due = follow_up.due_at
    follow_up.due_at = due_at
    if kind is not None:
        follow_up.kind = _check_kind(kind)
    if assignee is not None:
        follow_up.assignee = _check_assignee(lead, actor, assignee)
    if note is not None:
        follow_up.note = note
    follow_up.save(update_fields=["due_at", "kind", "assignee", "note"])
    _record(lead, actor, follow_up, Change.RESCHEDULED, note=note or "", from_due=previous_due)
    _save(lead, now)
    return follow_up


@transaction.atomic
def complete_follow_up(follow_up: FollowUp, actor: Actor, note: str = "") -> FollowUp:
    """Mark an open follow-up done."""
    return _close(follow_up, actor, FollowUp.State.DONE, Change.DONE, note)


@transaction.atomic
def cancel_follow_up(follow_up: FollowUp, actor: Actor, note: str = "") -> FollowUp:
    """Cancel an open follow-up."""
    return _close(follow_up, actor, FollowUp.State.CANCELLED, Change.CANCELLED, note)


def schedule_follow_up_locked(  # noqa: PLR0913 - the task's own fields
    lead: Lead,
    actor: Actor,
    *,
    due_at: datetime,
    kind: str,
    assignee: User | None,
    note: str,
    now: datetime,
) -> FollowUp:
    """``schedule_follow_up`` on a lead the caller has locked and will save (``next_action_at``)."""
    if lead.status.stage in CLOSED_STAGES:
        raise ValidationError(_("This lead is closed: reopen it before scheduling a follow-up."))
    if lead.merged_into_id:
        raise ValidationError(_("This lead was merged into another: follow up on that one."))
    _check_due(due_at, now)
    follow_up = FollowUp.objects.create(
        lead=lead,
        kind=_check_kind(kind),
        due_at=due_at,
        assignee=_check_assignee(lead, actor, assignee),
        note=note,
        created_by=_person(actor),
        created_at=now,
    )
    _record(lead, actor, follow_up, Change.SCHEDULED, note=note)
    lead.next_action_at = min(filter(None, [lead.next_action_at, due_at]))
    return follow_up


def cancel_open_follow_ups_locked(lead: Lead, actor: Actor, note: str, now: datetime) -> int:
    """Cancel every open follow-up of a lead being closed (the caller saves ``next_action_at``)."""
    cancelled = 0
    for follow_up in open_follow_ups(lead).select_for_update():
        follow_up.state, follow_up.closed_at, follow_up.closed_by = (
            FollowUp.State.CANCELLED,
            now,
            _person(actor),
        )
        follow_up.save(update_fields=["state", "closed_at", "closed_by"])
        _record(lead, actor, follow_up, Change.CANCELLED, note=note)
        cancelled += 1
    lead.next_action_at = None
    return cancelled


def move_open_follow_ups_locked(duplicate: Lead, into: Lead) -> None:
    """On a merge: the duplicate's open follow-ups go on with the lead that stays."""
    moved = open_follow_ups(duplicate).update(lead=into)
    duplicate.next_action_at = None
    if moved:
        into.next_action_at = next_action_of(into)


def hand_over_locked(lead: Lead, previous: User | None, assignee: User | None) -> None:
    """On a reassignment: the open follow-ups that were the previous assignee's (or nobody's) go to the
    new assignee; with nobody assigned they stay with whoever had them."""
    if assignee is None:
        return
    held = Q(assignee__isnull=True) | (Q(assignee=previous) if previous else Q(pk__in=[]))
    open_follow_ups(lead).filter(held).update(assignee=assignee)


def next_action_of(lead: Lead) -> datetime | None:
    return open_follow_ups(lead).aggregate(first=Min("due_at"))["first"]


def _close(follow_up: FollowUp, actor: Actor, state: str, change: str, note: str) -> FollowUp:
    lead = _locked(follow_up.lead)
    _check_actor(actor, lead)
    follow_up = _locked_follow_up(follow_up, lead)
    now = timezone.now()
    follow_up.state, follow_up.closed_at, follow_up.closed_by = state, now, _person(actor)
    follow_up.save(update_fields=["state", "closed_at", "closed_by"])
    _record(lead, actor, follow_up, change, note=note)
    _save(lead, now)
    return follow_up


def _record(
    lead: Lead,
    actor: Actor,
    follow_up: FollowUp,
    change: str,
    *,
    note: str = "",
    from_due: datetime | None = None,
) -> LeadEvent:
    data: dict[str, Any] = {
        "follow_up": follow_up.pk,
        "kind": follow_up.kind,
        "due_at": follow_up.due_at.isoformat(),
        "assignee_id": follow_up.assignee_id,
    }
    if from_due is not None:
        data["from_due_at"] = from_due.isoformat()
    return record_event(lead, LeadEvent.Kind.FOLLOW_UP, actor, to_value=change, note=note, data=data)


def _locked(lead: Lead) -> Lead:
    # The row alone: a joined status would lose the lead to a concurrent move (see crm.services._locked).
    return Lead.objects.select_for_update().get(pk=lead.pk)


def _locked_follow_up(follow_up: FollowUp, lead: Lead) -> FollowUp:
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.state != FollowUp.State.OPEN:
        raise ValidationError(_("This follow-up is already done or cancelled."))
    follow_up.lead = lead
    return follow_up


def _save(lead: Lead, now: datetime) -> None:
    lead.next_action_at = next_action_of(lead)
    lead.last_activity_at = now
    lead.save(update_fields=["next_action_at", "last_activity_at", "updated_at"])


def _person(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) and actor.is_authenticated else None


def _check_actor(actor: Actor, lead: Lead) -> None:
    person = _person(actor)
    if person is not None and not can_act_on_lead(person, lead, "follow_up"):
        raise PermissionDenied(_("You may not plan follow-ups on this lead."))


def _check_due(due_at: datetime | None, now: datetime) -> None:
    if due_at is None:
        raise ValidationError(_("Give the date and time of the follow-up."), code="follow_up_date")
    if timezone.is_naive(due_at):
        due_at = timezone.make_aware(due_at)
    if due_at < now - PAST_GRACE:
        raise ValidationError(
            _("The follow-up date is in the past: pick a time from now on."), code="follow_up_date"
        )


def _check_kind(kind: str) -> str:
    if kind not in FollowUp.Kind.values:
        raise ValidationError(_("Unknown kind of follow-up: %(kind)s.") % {"kind": kind})
    return kind


def _check_assignee(lead: Lead, actor: Actor, assignee: User | None) -> User | None:
    """Who does the follow-up: employees plan their own; managers and admins anyone who may own the
    lead's brand's leads and can open the lead (an employee only their own leads). Default: the lead's
    assignee, else the person planning it."""
    person = _person(actor)
    if assignee is None:
        return lead.assignee if lead.assignee_id else person
    if person is not None and person.role == Role.EMPLOYEE and assignee.pk != person.pk:
        raise PermissionDenied(_("You can only plan follow-ups for yourself."))
    if assignee.pk == lead.assignee_id:
        return assignee
    if not assignable_users(lead.brand_id).filter(pk=assignee.pk).exists():
        raise ValidationError(
            _("%(person)s cannot take leads of %(brand)s.") % {"person": assignee, "brand": lead.brand}
        )
    if not can_see_lead(assignee, lead):
        raise ValidationError(
            _("%(person)s cannot open this lead: assign the lead to them first.") % {"person": assignee}
        )
    return assignee
