"""Which event types any active subscription hears, held in memory so a lead write with no subscriber
pays no query. Reloaded when any process saves a subscription (a version key in Django's cache), checked
every couple of seconds and at least every few minutes."""

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from .models import Subscription

logger = logging.getLogger(__name__)
VERSION_KEY = "webhooks:subscriptions-version"
RECHECK_SECONDS = 2
MAX_AGE_SECONDS = 300


@dataclass
class Interest:
    event_types: frozenset[str]
    version: object
    loaded_at: float
    checked_at: float


_lock = threading.Lock()
_shared: dict[str, Interest | None] = {"interest": None}


def invalidate(**kwargs: Any) -> None:
    """Tell every process to read the subscriptions again (connected to their save and delete)."""
    _shared["interest"] = None
    try:
        cache.set(VERSION_KEY, time.time(), None)
    except Exception:  # noqa: BLE001 - a cache outage must not break saving a subscription
        logger.warning("Could not publish the webhook subscriptions version.", exc_info=True)


def _version() -> object:
    try:
        return cache.get(VERSION_KEY)
    except Exception:  # noqa: BLE001
        return None


def event_types() -> frozenset[str]:
    """The event types of the active subscriptions."""
    now = time.monotonic()
    interest = _shared["interest"]
    if interest is not None and now - interest.checked_at < RECHECK_SECONDS:
        return interest.event_types
    version = _version()
    if interest is not None and interest.version == version and now - interest.loaded_at < MAX_AGE_SECONDS:
        interest.checked_at = now
        return interest.event_types
    with _lock:
        chosen = Subscription.objects.filter(is_active=True).values_list("events", flat=True)
        types = frozenset(event for events in chosen for event in (events or ()))
        _shared["interest"] = Interest(types, version, now, now)
    return types
