"""Which event types any active subscription hears, held in memory so a lead write with no subscriber
pays no query (``core.snapshots``: reloaded when any process saves a subscription)."""

from typing import Any

from core.snapshots import ProcessSnapshot

from .models import Subscription


def _active_event_types() -> frozenset[str]:
    chosen = Subscription.objects.filter(is_active=True).values_list("events", flat=True)
    return frozenset(event for events in chosen for event in (events or ()))


_interest = ProcessSnapshot("webhooks:subscriptions-version", _active_event_types)


def event_types() -> frozenset[str]:
    """The event types of the active subscriptions."""
    return _interest.get()


def invalidate(**kwargs: Any) -> None:
    """Tell every process to read the subscriptions again (connected to their save and delete)."""
    _interest.invalidate()
