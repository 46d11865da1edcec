"""Alerts: turning lead events, integration failures and SLA breaches into outbox rows.

Outbox rows are written in the transaction that wrote the cause (``alerts.outbox``); a job delivers
them after commit (``alerts.wakeup``, ``alerts.delivery``); the sweeper picks up whatever a lost job
left behind. Which rows a cause calls for is decided in ``alerts.matching``.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.models import Lead, LeadEvent

from . import outbox, rules
from .matching import (
    BREACHES,
    Row,
    breached_leads,
    rows_for_event,
    rows_for_integration_failure,
    rows_for_rule,
)
from .models import Breach
from .rules import RuleSpec, Snapshot
from .wakeup import deliver_after_commit


def on_lead_event(sender: object, event: LeadEvent, **kwargs: Any) -> None:
    """Receiver of ``crm.signals.lead_event_recorded``: outbox rows in the event's own transaction."""
    if not settings.ALERTS_ENABLED:
        return
    rows = rows_for_event(event)
    if rows:
        save_rows(rows)


def on_lead_events(sender: object, events: Sequence[LeadEvent], **kwargs: Any) -> None:
    """Receiver of ``crm.signals.lead_events_recorded``: the outbox of a whole batch in one INSERT."""
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
