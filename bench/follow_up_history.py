"""The follow-ups of a generated bench lead, as ``crm.followups`` would have left them.

``FollowUpHistory(generator, user_ids, closing_notes).add(lead, lead_id)`` gives a lead of
``crm.demo.generator`` its follow-ups: deterministic per seed, ``now`` and index (a random generator of
its own, so the lead itself is unchanged). It appends the ``follow_up`` events they wrote to
``lead.events`` (and moves ``lead.last_activity_at`` to the last event) and returns the follow-up rows
and the lead's ``next_action_at``, the due time of its earliest open follow-up.

What a lead gets, for about 200k open and 100k done or cancelled follow-ups per million leads:

- an open lead with an assignee: in a status that requires a follow-up (to quote, postponed) one open
  follow-up scheduled with that move, sometimes a second; in another open status now and then one or
  two. Due times are spread from 30 days ago to 30 days ahead at office hours (UTC-3), so every
  salesperson has overdue follow-ups and follow-ups due today and tomorrow.
- any lead that was assigned: now and then a follow-up done after its due time, before the lead closed.
- a closed lead: now and then a follow-up cancelled when it closed (the note the service writes).
"""

import random
from datetime import UTC, datetime, timedelta

OPEN_STATUSES = ("assigned", "contacted", "to_quote", "quoted", "interested", "postponed")
CLOSED_STATUSES = ("won", "new_client", "not_advanced", "not_viable")
REQUIRES_FOLLOW_UP = ("to_quote", "postponed")
IDS_PER_LEAD = 4
"""Follow-up ids are ``(lead id - 1) * IDS_PER_LEAD + n``: unique without a shared counter."""
WINDOW = timedelta(days=30)
LOCAL_OFFSET = timedelta(hours=3)
KIND_WEIGHTS = (("call", 45), ("whatsapp", 20), ("email", 15), ("visit", 5), ("quote", 10), ("other", 5))
NOTES = (
    "Llamar para confirmar la cotización.",
    "Pasar precio actualizado.",
    "Preguntar si recibió la propuesta.",
    "Coordinar visita a planta.",
    "Confirmar volumen mensual.",
    "Reenviar presentación por WhatsApp.",
)
DONE_NOTES = ("Hablamos, sigue interesado.", "No atendió, reintentar.", "Enviado.", "")
SHARE_REQUIRED_SECOND = 0.10
SHARE_OTHER_OPEN = 0.12
SHARE_OTHER_SECOND = 0.10
SHARE_DONE = 0.075
SHARE_CANCELLED = 0.10


class FollowUpHistory:
    """Follow-ups for the leads of one ``LeadGenerator`` (see the module docstring)."""

    def __init__(self, generator, user_ids, closing_notes):
        self.generator = generator
        self.now = generator.now
        self.user_ids = user_ids
        self.closing_notes = closing_notes
        self.seed_base = (generator.seed + 17) * 4_000_037
        self.kinds = [kind for kind, _weight in KIND_WEIGHTS]
        self.kind_weights = [weight for _kind, weight in KIND_WEIGHTS]

    def add(self, lead, lead_id):
        """(follow-up rows, next_action_at) of ``lead``; its follow-up events go into ``lead.events``."""
        if lead.assignee is None or lead.assigned_at is None:
            return [], None
        rng = random.Random(self.seed_base + lead.index)
        rows, events = [], []
        first_id = (lead_id - 1) * IDS_PER_LEAD + 1
        closing = self._closing_event(lead) if lead.status in CLOSED_STATUSES else None
        end = closing.created_at if closing else self.now
        if rng.random() < SHARE_DONE and end - lead.assigned_at > timedelta(hours=3):
            rows.append(self._done(rng, lead, lead_id, first_id + len(rows), end, events))
        if closing and rng.random() < SHARE_CANCELLED and end - lead.assigned_at > timedelta(hours=1):
            rows.append(self._cancelled(rng, lead, lead_id, first_id + len(rows), closing, events))
        if lead.status in OPEN_STATUSES:
            required = lead.status in REQUIRES_FOLLOW_UP
            if required or rng.random() < SHARE_OTHER_OPEN:
                count = 2 if rng.random() < (SHARE_REQUIRED_SECOND if required else SHARE_OTHER_SECOND) else 1
                for n in range(count):
                    with_move = required and n == 0
                    rows.append(self._open(rng, lead, lead_id, first_id + len(rows), with_move, events))
        if events:
            lead.events.extend(events)
            lead.events.sort(key=lambda event: event.created_at)
            lead.last_activity_at = lead.events[-1].created_at
        next_action = min((row["due_at"] for row in rows if row["state"] == "open"), default=None)
        return rows, next_action

    # -- one follow-up --------------------------------------------------------------------------

    def _open(self, rng, lead, lead_id, pk, with_move, events):  # noqa: PLR0913
        """Open, due from 30 days ago to 30 days ahead; the first of a lead in a status that requires
        one was scheduled with the move into that status."""
        base = lead.status_changed_at if with_move else lead.assigned_at
        low = max(self.now - WINDOW, base + timedelta(minutes=15))
        due = office_hours(rng, low + (self.now + WINDOW - low) * rng.random(), self.now - WINDOW)
        if due < base + timedelta(minutes=5):
            due = base + timedelta(hours=rng.uniform(1, 48))
        created = base if with_move else base + (min(due, self.now) - base) * rng.random()
        actor = self._status_mover(lead) if with_move else self._planner(rng, lead)
        kind = "quote" if lead.status == "to_quote" and with_move else self._kind(rng)
        note = rng.choice(NOTES) if rng.random() < 0.3 else ""
        row = self._row(pk, lead_id, kind, due, lead.assignee, note, "open", actor, created)
        events.append(self._event(row, "scheduled", created, actor, note))
        return row

    def _done(self, rng, lead, lead_id, pk, end, events):  # noqa: PLR0913
        """Scheduled after the assignment, done by the assignee a little after it was due."""
        span = end - lead.assigned_at
        created = lead.assigned_at + span * rng.uniform(0.0, 0.6)
        due = min(created + timedelta(hours=rng.uniform(1, 96)), end - timedelta(minutes=30))
        due = max(due, created + timedelta(minutes=10))
        closed = min(due + timedelta(minutes=rng.uniform(0, 600)), end - timedelta(seconds=1))
        actor = self._planner(rng, lead)
        note = rng.choice(NOTES) if rng.random() < 0.3 else ""
        row = self._row(pk, lead_id, self._kind(rng), due, lead.assignee, note, "done", actor, created)
        row.update(closed_at=closed, closed_by_id=self.user_ids.get(lead.assignee))
        events.append(self._event(row, "scheduled", created, actor, note))
        events.append(self._event(row, "done", closed, lead.assignee, rng.choice(DONE_NOTES)))
        return row

    def _cancelled(self, rng, lead, lead_id, pk, closing, events):  # noqa: PLR0913
        """Open when the lead closed, cancelled by that move (with the note the service writes)."""
        span = closing.created_at - lead.assigned_at
        created = lead.assigned_at + span * rng.uniform(0.0, 0.9)
        due = created + timedelta(hours=rng.uniform(2, 240))
        actor = self._planner(rng, lead)
        row = self._row(pk, lead_id, self._kind(rng), due, lead.assignee, "", "cancelled", actor, created)
        row.update(closed_at=closing.created_at, closed_by_id=self.user_ids.get(closing.actor))
        events.append(self._event(row, "scheduled", created, actor, ""))
        events.append(
            self._event(row, "cancelled", closing.created_at, closing.actor, self.closing_notes[lead.status])
        )
        return row

    # -- helpers ------------------------------------------------------------------------------

    def _row(self, pk, lead_id, kind, due, assignee, note, state, actor, created):  # noqa: PLR0913
        return {
            "id": pk,
            "lead_id": lead_id,
            "kind": kind,
            "due_at": due,
            "assignee_id": self.user_ids.get(assignee),
            "note": note,
            "state": state,
            "created_by_id": self.user_ids.get(actor),
            "created_at": created,
            "closed_at": None,
            "closed_by_id": None,
        }

    def _event(self, row, change, when, actor, note):  # noqa: PLR0913
        from crm.demo.generator import GeneratedEvent

        data = {
            "follow_up": row["id"],
            "kind": row["kind"],
            "due_at": row["due_at"].isoformat(),
            "assignee_id": row["assignee_id"],
        }
        return GeneratedEvent("follow_up", when, actor, to_value=change, note=note, data=data)

    def _kind(self, rng):
        return rng.choices(self.kinds, weights=self.kind_weights)[0]

    def _planner(self, rng, lead):
        """Who scheduled it: mostly the assignee, sometimes a manager of the brand."""
        if rng.random() < 0.15:
            return rng.choice(self.generator.managers[lead.brand])
        return lead.assignee

    @staticmethod
    def _status_mover(lead):
        """Who moved the lead into its current status (the actor of the last status change)."""
        for event in reversed(lead.events):
            if event.kind == "status_changed" and event.to_value == lead.status:
                return event.actor
        return lead.assignee

    @staticmethod
    def _closing_event(lead):
        for event in reversed(lead.events):
            if event.kind == "status_changed" and event.to_value == lead.status:
                return event
        return None


def office_hours(rng, moment, not_before=None):
    """``moment``'s day (Argentine time) at 9 to 18 h, on the quarter hour; weekends move to Friday, or
    to Monday when that Friday ends before ``not_before`` (the window's first day stays its first)."""
    local = moment - LOCAL_OFFSET
    day = datetime(local.year, local.month, local.day, tzinfo=UTC)
    if day.weekday() >= 5:
        friday = day - timedelta(days=day.weekday() - 4)
        ends_too_early = not_before is not None and friday + LOCAL_OFFSET + timedelta(days=1) <= not_before
        day = day + timedelta(days=7 - day.weekday()) if ends_too_early else friday
    return day + LOCAL_OFFSET + timedelta(hours=rng.randrange(9, 19), minutes=15 * rng.randrange(4))
