"""Writing the outbox: lead events of interest become ``OutboxEvent`` rows and one ``Delivery`` per
matching subscription, inside the transaction that recorded the lead event (so a rolled-back change sends
nothing and a committed one is never missed)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from core.jobs import enqueue
from crm.models import LeadEvent, Stage

from . import interest
from .models import Delivery, EventType, OutboxEvent, Subscription
from .payloads import Lookups, lead_snapshot

POSSIBLE_TYPES: dict[str, frozenset[str]] = {
    LeadEvent.Kind.CREATED: frozenset({EventType.LEAD_CREATED}),
    LeadEvent.Kind.ASSIGNED: frozenset({EventType.LEAD_ASSIGNED}),
    LeadEvent.Kind.STATUS_CHANGED: frozenset(
        {EventType.LEAD_STATUS_CHANGED, EventType.LEAD_WON, EventType.LEAD_LOST}
    ),
}
DELIVER_JOB = "webhooks.jobs.deliver_due"


@dataclass(frozen=True)
class Target:
    """An active subscription as the outbox needs it."""

    id: int
    events: frozenset[str]
    brand_ids: frozenset[int]

    def wants(self, event_type: str, brand_id: int | None) -> bool:
        return event_type in self.events and (not self.brand_ids or brand_id in self.brand_ids)


def on_lead_event(sender: object, event: LeadEvent, **kwargs: Any) -> None:
    """Receiver of ``crm.signals.lead_event_recorded``."""
    record([event])


def on_lead_events(sender: object, events: Sequence[LeadEvent], **kwargs: Any) -> None:
    """Receiver of ``crm.signals.lead_events_recorded`` (a batch: a few queries in all)."""
    record(events)


def event_types_for(event: LeadEvent, lookups: Lookups) -> list[str]:
    """The webhook event types a lead event is: a move into a won or lost stage is also ``lead.won`` /
    ``lead.lost``."""
    if event.kind == LeadEvent.Kind.STATUS_CHANGED:
        types = [EventType.LEAD_STATUS_CHANGED.value]
        stage = lookups.stages.get(event.to_value)
        if stage == Stage.WON:
            types.append(EventType.LEAD_WON.value)
        elif stage == Stage.LOST:
            types.append(EventType.LEAD_LOST.value)
        return types
    return [str(event_type) for event_type in POSSIBLE_TYPES.get(event.kind, ())]


def targets() -> list[Target]:
    """The active subscriptions (paused ones too: their deliveries wait for the resume)."""
    rows = list(Subscription.objects.filter(is_active=True).values_list("pk", "events"))
    brands: dict[int, set[int]] = {}
    if rows:
        through = Subscription.brands.through.objects.filter(subscription_id__in=[pk for pk, _ in rows])
        for subscription_id, brand_id in through.values_list("subscription_id", "brand_id"):
            brands.setdefault(subscription_id, set()).add(brand_id)
    return [Target(pk, frozenset(events or ()), frozenset(brands.get(pk, ()))) for pk, events in rows]


def record(events: Sequence[LeadEvent]) -> int:
    """Outbox rows and deliveries for ``events``; returns how many deliveries were queued.

    No query at all when no active subscription hears any of the events' possible types.
    """
    wanted = interest.event_types()
    if not wanted or not any(POSSIBLE_TYPES.get(event.kind, frozenset()) & wanted for event in events):
        return 0
    subscriptions = targets()
    if not subscriptions:
        return 0
    lookups = Lookups.load()
    rows: list[tuple[OutboxEvent, list[int]]] = []
    for event in events:
        lead = event.lead
        for event_type in event_types_for(event, lookups):
            matching = [target.id for target in subscriptions if target.wants(event_type, lead.brand_id)]
            if not matching:
                continue
            status_key = event.to_value if event.kind == LeadEvent.Kind.STATUS_CHANGED else ""
            if event.kind == LeadEvent.Kind.CREATED:
                status_key = event.to_value
            outbox_event = OutboxEvent(
                event_type=event_type,
                lead_id=lead.pk,
                lead_event_id=event.pk,
                brand_id=lead.brand_id,
                occurred_at=event.created_at,
                payload={"lead": lead_snapshot(lead, lookups, status_key)},
            )
            rows.append((outbox_event, matching))
    if not rows:
        return 0
    OutboxEvent.objects.bulk_create([outbox_event for outbox_event, _ in rows], batch_size=1000)
    deliveries = [
        Delivery(event_id=outbox_event.pk, subscription_id=subscription_id)
        for outbox_event, matching in rows
        for subscription_id in matching
    ]
    Delivery.objects.bulk_create(deliveries, batch_size=1000)
    wake_after_commit()
    return len(deliveries)


def _wake() -> None:
    enqueue(DELIVER_JOB)


def wake_after_commit() -> None:
    """Start a delivery run once the transaction commits (once per transaction); the periodic run finds
    what a lost wake-up leaves."""
    if not settings.WEBHOOKS_WAKE_UP:
        return
    if any(entry[1] is _wake for entry in connection.run_on_commit):
        return
    transaction.on_commit(_wake, robust=True)
