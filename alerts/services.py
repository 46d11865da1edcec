"""Alerts: turning lead events, integration failures, SLA breaches and follow-ups coming due into outbox rows.

Outbox rows are written in the transaction that wrote the cause (``alerts.outbox``); a job delivers
them after commit (``alerts.wakeup``, ``alerts.delivery``); the sweeper picks up whatever a lost job
left behind. Which rows a cause calls for is decided in ``alerts.matching`` (``alerts.reminders`` for
follow-up reminders).
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from crm.models import Lead, LeadEvent

from . import outbox, reminders, rules
from .matching import (
    BREACHES,
    Row,
    breached_leads,
    rows_for_event,
    rows_for_integration_failure,
    rows_for_rule,
)
from .models import Breach, Notification
from .rules import RuleSpec, Snapshot
from .wakeup import deliver_after_commit, deliver_drains_after_commit

logger = logging.getLogger(__name__)
Status = Notification.Status
REMINDERS_CHECKED_KEY = "alerts:reminders-checked"


def on_lead_event(sender: object, event: LeadEvent, **kwargs: Any) -> None:
    """Receiver of ``crm.signals.lead_event_recorded``: outbox rows in the event's own transaction."""
    withdraw_reminders([event])
    if not settings.ALERTS_ENABLED:
        return
    rows = rows_for_event(event)
    if rows:
        save_rows(rows)


def on_lead_events(sender: object, events: Sequence[LeadEvent], **kwargs: Any) -> None:
    """Receiver of ``crm.signals.lead_events_recorded``: the outbox of a whole batch in one INSERT."""
    withdraw_reminders(events)
    if not settings.ALERTS_ENABLED or not events:
        return
    snapshot = rules.current()
    now = timezone.now()
    rows = [row for event in events for row in rows_for_event(event, snapshot, now)]
    if rows:
        save_rows(rows)


def on_integration_failed(
    sender: object, kind: object, name: object, error: object, admin_url: str = "", **kwargs: Any
) -> None:
    """Receiver of ``crm.signals.integration_failed``: one alert per source, error and day."""
    if not settings.ALERTS_ENABLED:
        return
    rows = rows_for_integration_failure(rules.current(), kind, name, error, admin_url, timezone.now())
    if rows:
        with transaction.atomic():
            save_rows(rows)


def save_rows(rows: Sequence[Row]) -> None:
    """Insert outbox rows (a rerun of the same cause inserts nothing) and deliver them after commit."""
    outbox.insert_rows(rows)
    deliver_after_commit({row.cause for row in rows})


def check_breaches(now: datetime | None = None) -> int:
    """SLA and staleness checks: alert once per lead and breach (the same breach never twice)."""
    now = now or timezone.now()
    snapshot = rules.current()
    lookback = timedelta(hours=settings.ALERTS_BREACH_LOOKBACK_HOURS)
    created = 0
    for trigger, field, unit in BREACHES:
        for spec in snapshot.by_trigger.get(trigger, ()):
            deadline = now - unit * spec.threshold
            for lead in breached_leads(spec, field, deadline, deadline - lookback):
                created += _record_breach(snapshot, spec, lead, getattr(lead, field), now)
    return created


def _record_breach(snapshot: Snapshot, spec: RuleSpec, lead: Lead, since: datetime, now: datetime) -> int:
    with transaction.atomic():
        _breach, created = Breach.objects.get_or_create(rule_id=spec.id, lead=lead, since=since)
        if not created:
            return 0
        cause = f"{spec.trigger}:{lead.pk}:{int(since.timestamp())}"
        rows = rows_for_rule(
            snapshot,
            spec,
            cause,
            now,
            lead=lead,
            assignee_id=lead.assignee_id,
            context={"threshold": spec.threshold},
        )
        if rows:
            save_rows(rows)
        return len(rows)


# ---------------------------------------------------------------------------------------------
# Follow-up reminders


def remind_follow_ups(now: datetime | None = None) -> int:
    """The periodic job: reminders of follow-ups coming due or overdue, once per task and due time;
    returns how many outbox rows it added.

    One indexed query when nothing is due; two runs at once insert each reminder once (the outbox's
    unique key), and enough delivery jobs are woken after commit for a burst.
    """
    if not settings.ALERTS_ENABLED:
        return 0
    now = now or timezone.now()
    oldest = now - timedelta(hours=settings.ALERTS_BREACH_LOOKBACK_HOURS)
    rows = reminders.due_rows(rules.current(), now, _reminders_checked() or now, oldest)
    inserted = 0
    if rows:
        with transaction.atomic():
            inserted = outbox.insert_rows(rows)
            deliver_drains_after_commit(inserted)
    _set_reminders_checked(now)
    return inserted


def withdraw_reminders(events: Iterable[LeadEvent]) -> int:
    """Skip the waiting reminders of tasks these events did, cancelled or moved to another time (one
    UPDATE on the outbox's unique index per such event; no query for other events). Rows already being
    sent are left to the check at delivery."""
    withdrawn = 0
    for event in events:
        found = reminders.withdrawn_by(event)
        if found:
            causes, code = found
            withdrawn += Notification.objects.filter(
                cause__in=causes, status__in=[Status.PENDING, Status.DIGEST]
            ).update(status=Status.SKIPPED, error_code=code, error="", next_attempt_at=None)
    return withdrawn


def _reminders_checked() -> datetime | None:
    """When the last reminder run checked (kept in the cache; missing: this run looks back ``SLACK``)."""
    try:
        value = cache.get(REMINDERS_CHECKED_KEY)
    except Exception:  # noqa: BLE001 - a cache outage costs a shorter catch-up, never a reminder run
        logger.warning("Could not read when reminders were last checked.", exc_info=True)
        return None
    return datetime.fromtimestamp(float(value), tz=UTC) if value else None


def _set_reminders_checked(now: datetime) -> None:
    try:
        cache.set(REMINDERS_CHECKED_KEY, now.timestamp(), None)
    except Exception:  # noqa: BLE001
        logger.warning("Could not record when reminders were checked.", exc_info=True)
