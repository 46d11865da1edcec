"""Follow-up reminders: which tasks each reminder rule calls for now, the outbox rows they make, and whether
a reminder still holds when it goes out.

A reminder's dedupe key (the outbox row's ``cause``) names the trigger, the task, its lead and its due
time, so a rescheduled task gets a fresh reminder for its new time and never a second one for the same
time; the outbox's unique (cause, rule, recipient, channel) makes concurrent runs insert each row once.

- ``follow_up_due`` (threshold N minutes): open tasks due within the next N minutes. The window is the
  tasks' state, so a task planned, rescheduled or handed to someone inside it is reminded on the next run.
- ``follow_up_overdue`` (threshold N minutes): open tasks that became N minutes overdue since the last
  run (at least the last ``SLACK``; at most ``ALERTS_BREACH_LOOKBACK_HOURS`` back), once per due time.

Every run is one query on the open tasks' due-time index (``crm_followup_open_due``), whatever the
number of rules; rows already in the outbox are left out before the insert (one lookup on its unique
index per 500 keys). At delivery the task is read again: done, cancelled, rescheduled, moved to another
lead or now someone else's, the reminder is skipped.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from crm.followups import Change
from crm.models import FollowUp, LeadEvent

from .matching import Row, rows_for_rule
from .models import REMINDER_TRIGGERS, Notification, Trigger
from .rules import RuleSpec, Snapshot

SLACK = timedelta(minutes=10)
"""How far back every run looks again for overdue tasks: longer than a follow-up may be planned in the
past (``crm.followups.PAST_GRACE``) plus a slow run or transaction."""
NOTE_LIMIT = 160
LOOKUP_CHUNK = 500


def cause(trigger: str, follow_up_id: int, lead_id: int, due_at: datetime) -> str:
    """The dedupe key of a reminder: the trigger, the task, its lead and its due time."""
    return f"{trigger}:{follow_up_id}:{lead_id}:{due_at.timestamp():.0f}"


Window = tuple[RuleSpec, datetime, datetime]


def windows(snapshot: Snapshot, now: datetime, since: datetime, oldest: datetime) -> list[Window]:
    """Each active reminder rule with the due times it calls for now: ``(rule, after, until)``.

    ``since`` is when the previous run checked (overdue tasks since then are caught up), ``oldest`` the
    earliest due time any run still reminds about.
    """
    found: list[Window] = []
    for spec in snapshot.by_trigger.get(Trigger.FOLLOW_UP_DUE, ()):
        if spec.threshold:
            found.append((spec, now, now + timedelta(minutes=spec.threshold)))
    for spec in snapshot.by_trigger.get(Trigger.FOLLOW_UP_OVERDUE, ()):
        late = timedelta(minutes=spec.threshold)
        found.append((spec, max(min(since, now - SLACK) - late, oldest), now - late))
    return [window for window in found if window[1] < window[2]]


def tasks_in(ranges: Sequence[Window]) -> list[FollowUp]:
    """The open tasks due in any of the windows, with their leads: one query (none without windows)."""
    if not ranges:
        return []
    due = reduce(or_, (Q(due_at__gt=after, due_at__lte=until) for _spec, after, until in ranges))
    return list(
        FollowUp.objects.filter(due, state=FollowUp.State.OPEN)
        .select_related("lead")
        .only(
            "pk",
            "due_at",
            "assignee_id",
            "lead__id",
            "lead__brand_id",
            "lead__service_id",
            "lead__source_id",
            "lead__campaign_id",
            "lead__priority",
            "lead__status_id",
            "lead__skip_alerts",
        )
        .order_by("due_at", "pk")
    )


def rows_for_tasks(
    snapshot: Snapshot, ranges: Sequence[Window], tasks: Iterable[FollowUp], now: datetime
) -> list[Row]:
    """The outbox rows of these tasks: per rule whose window and conditions they meet, one per person the
    rule reaches (``the assignee``: the task's person) and channel. Quiet hours hold them as usual."""
    rows: list[Row] = []
    for task in tasks:
        lead = task.lead
        if lead.skip_alerts:
            continue
        _key, stage = snapshot.statuses.get(lead.status_id, ("", ""))
        for spec, after, until in ranges:
            if not after < task.due_at <= until or not spec.matches_lead(lead, stage):
                continue
            context = {"follow_up": task.pk, "due_at": task.due_at.isoformat()}
            rows.extend(
                rows_for_rule(
                    snapshot,
                    spec,
                    cause(spec.trigger, task.pk, lead.pk, task.due_at),
                    now,
                    lead=lead,
                    assignee_id=task.assignee_id,
                    context=context,
                )
            )
    return rows


def not_in_outbox(rows: Sequence[Row]) -> list[Row]:
    """The rows not inserted yet (an earlier run's rows for the same task and time are left out)."""
    causes = sorted({row.cause for row in rows})
    present: set[tuple[str, int, int, str]] = set()
    for start in range(0, len(causes), LOOKUP_CHUNK):
        present.update(
            Notification.objects.filter(cause__in=causes[start : start + LOOKUP_CHUNK]).values_list(
                "cause", "rule_id", "recipient_id", "channel"
            )
        )
    return [row for row in rows if (row.cause, row.rule_id, row.recipient_id, row.channel) not in present]


def due_rows(snapshot: Snapshot, now: datetime, since: datetime, oldest: datetime) -> list[Row]:
    """The reminder rows to insert now (nothing is written)."""
    ranges = windows(snapshot, now, since, oldest)
    rows = rows_for_tasks(snapshot, ranges, tasks_in(ranges), now)
    return not_in_outbox(rows) if rows else []


# ---------------------------------------------------------------------------------------------
# When a task changes


WITHDRAWN: dict[str, str] = {Change.RESCHEDULED: "follow_up_moved", Change.DONE: "follow_up_closed"}


def withdrawn_by(event: LeadEvent) -> tuple[list[str], str] | None:
    """The keys of the reminders a ``follow_up`` event makes pointless (done, cancelled, rescheduled to
    another time) and the skip code, or None."""
    if event.kind != LeadEvent.Kind.FOLLOW_UP:
        return None
    data = event.data or {}
    change = event.to_value
    if change == Change.RESCHEDULED:
        old = data.get("from_due_at")
        if not old or old == data.get("due_at"):
            return None
    elif change in (Change.DONE, Change.CANCELLED):
        old = data.get("due_at")
    else:
        return None
    due_at = parse_datetime(str(old or ""))
    if due_at is None or not data.get("follow_up"):
        return None
    keys = [cause(trigger, int(data["follow_up"]), event.lead_id, due_at) for trigger in REMINDER_TRIGGERS]
    return keys, WITHDRAWN.get(change, "follow_up_closed")


# ---------------------------------------------------------------------------------------------
# At delivery


@dataclass(frozen=True)
class Task:
    lead_id: int
    state: str
    due_at: datetime
    assignee_id: int | None
    kind: str
    note: str


def load_tasks(notifications: Iterable[Notification]) -> dict[int, Task]:
    """The follow-ups of these reminder rows as they are now (one query; none without reminders).

    Each reminder row's context gets its task's current kind and note, for the message.
    """
    reminders = [n for n in notifications if n.trigger in REMINDER_TRIGGERS]
    ids = {int(n.context["follow_up"]) for n in reminders if n.context.get("follow_up")}
    if not ids:
        return {}
    tasks = {
        pk: Task(lead_id, state, due_at, assignee_id, kind, note)
        for pk, lead_id, state, due_at, assignee_id, kind, note in FollowUp.objects.filter(
            pk__in=ids
        ).values_list("pk", "lead_id", "state", "due_at", "assignee_id", "kind", "note")
    }
    for notification in reminders:
        task = tasks.get(int(notification.context.get("follow_up") or 0))
        if task is not None:
            notification.context = {
                **notification.context,
                "kind": task.kind,
                "note": task.note[: NOTE_LIMIT * 2],
            }
    return tasks


def skip_reason(notification: Notification, snapshot: Snapshot, tasks: dict[int, Task]) -> str | None:
    """Why a reminder should not go out any more (None for other rows): its task was done, cancelled,
    rescheduled or moved to another lead, or the rule no longer reaches the recipient for it."""
    if notification.trigger not in REMINDER_TRIGGERS:
        return None
    context: dict[str, Any] = notification.context
    task = tasks.get(int(context.get("follow_up") or 0))
    if task is None or task.state != FollowUp.State.OPEN:
        return "follow_up_closed"
    if task.lead_id != notification.lead_id or parse_datetime(str(context.get("due_at"))) != task.due_at:
        return "follow_up_moved"
    spec = snapshot.rules.get(notification.rule_id)
    if spec is not None and notification.recipient_id not in snapshot.recipients(
        spec, notification.lead, task.assignee_id
    ):
        return "not_recipient"
    return None
