"""Sending due deliveries: claim a batch (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), POST each signed body,
store the outcome, back off and pause a subscription that keeps failing.

A delivery answered 2xx is marked delivered in the same transaction as its attempt and is never claimed
again. A worker stopped between the POST and that commit leaves the delivery ``sending``; once its lease
runs out it is sent again under the same ``X-Intralog-Delivery`` id, which receivers use to dedupe.
"""

import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import payloads, signing
from .models import Attempt, Delivery, Subscription

Status = Delivery.Status
BATCH = 100
ERROR_LENGTH = 500


@dataclass
class Outcome:
    """One POST: its answer (or error) and time."""

    delivery: Delivery
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)
    released: list[int] = field(default_factory=list)


def backoff(attempt: int) -> timedelta:
    """Exponential, capped, with jitter: half the step fixed, half random."""
    step = min(
        settings.WEBHOOKS_RETRY_CAP_SECONDS, settings.WEBHOOKS_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0)
    )
    return timedelta(seconds=step / 2 + random.uniform(0, step / 2))


def release_stale(now: datetime) -> int:
    """Deliveries a stopped worker left ``sending`` past the lease go back to the queue."""
    lease = now - timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)
    return Delivery.objects.filter(status=Status.SENDING, claimed_at__lt=lease).update(
        status=Status.PENDING, claimed_by=""
    )


def claim(now: datetime, limit: int = BATCH) -> list[int]:
    """Take up to ``limit`` due deliveries of active, unpaused, unblocked subscriptions; returns their ids.

    On PostgreSQL concurrent workers skip each other's rows (``SKIP LOCKED``); on SQLite writers take turns
    and the ``status`` guard with this claim's token tells which rows it won.
    """
    token = uuid.uuid4().hex
    due = (
        Delivery.objects.filter(
            status=Status.PENDING, subscription__is_active=True, subscription__paused_at=None
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(subscription__blocked_until__isnull=True) | Q(subscription__blocked_until__lte=now))
        .order_by("pk")
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.SENDING, claimed_at=now, claimed_by=token
        )
    return list(
        Delivery.objects.filter(claimed_by=token, status=Status.SENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def post(session: requests.Session, delivery: Delivery) -> Outcome:
    """POST one delivery, signed with its subscription's secret and the current time."""
    event = delivery.event
    body = payloads.body(delivery, event)
    timestamp = str(int(time.time()))
    headers = signing.headers(
        delivery.subscription.secret, timestamp, str(delivery.uid), event.event_type, body
    )
    started_at, clock = timezone.now(), time.monotonic()
    outcome = Outcome(delivery, started_at, 0)
    try:
        response = session.post(
            delivery.subscription.url,
            data=body,
            headers=headers,
            timeout=(settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOKS_TIMEOUT_SECONDS),
            allow_redirects=False,
        )
        outcome.status_code = response.status_code
        if not outcome.ok:
            outcome.error = f"HTTP {response.status_code}: {response.text[:200]}"
        response.close()
    except requests.RequestException as error:
        outcome.error = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    outcome.duration_ms = int((time.monotonic() - clock) * 1000)
    return outcome


def _send_group(deliveries: list[Delivery]) -> BatchResult:
    """One subscription's deliveries in order, stopping at its first failure (the rest wait for the
    subscription's next try rather than each failing on their own) or at half the lease (a slow receiver
    never keeps a claim past it)."""
    result = BatchResult()
    deadline = time.monotonic() + settings.WEBHOOKS_LEASE_SECONDS / 2
    with requests.Session() as session:
        for index, delivery in enumerate(deliveries):
            if time.monotonic() > deadline:
                result.released += [later.pk for later in deliveries[index:]]
                break
            outcome = post(session, delivery)
            result.outcomes.append(outcome)
            if not outcome.ok:
                result.released += [later.pk for later in deliveries[index + 1 :]]
                break
    return result


def send(ids: Iterable[int]) -> BatchResult:
    """POST claimed deliveries, the subscriptions side by side (threads: network waits only)."""
    deliveries = list(
        Delivery.objects.filter(pk__in=ids).select_related("event", "subscription").order_by("pk")
    )
    groups: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        groups[delivery.subscription_id].append(delivery)
    result = BatchResult()
    if not groups:
        return result
    with ThreadPoolExecutor(max_workers=min(len(groups), settings.WEBHOOKS_THREADS)) as pool:
        for part in pool.map(_send_group, groups.values()):
            result.outcomes += part.outcomes
            result.released += part.released
    return result


@transaction.atomic
def store(result: BatchResult, now: datetime, on_pause: Callable[[Subscription], None]) -> None:
    """The attempts, each delivery's new state and its subscription's failure streak, in one transaction."""
    outcomes = result.outcomes
    Attempt.objects.bulk_create(
        [
            Attempt(
                delivery_id=o.delivery.pk,
                number=o.delivery.attempts + 1,
                started_at=o.started_at,
                duration_ms=o.duration_ms,
                status_code=o.status_code,
                error=o.error,
                manual=o.delivery.resend_requested,
            )
            for o in outcomes
        ]
    )
    delivered: dict[int, list[int]] = defaultdict(list)
    failed = []
    for o in outcomes:
        if o.ok:
            assert o.status_code is not None
            delivered[o.status_code].append(o.delivery.pk)
        else:
            delivery = o.delivery
            delivery.attempts += 1
            delivery.status = Status.PENDING
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            delivery.last_status_code = o.status_code
            delivery.last_error = o.error
            delivery.resend_requested = False
            delivery.claimed_by = ""
            failed.append(delivery)
    for status_code, pks in delivered.items():
        Delivery.objects.filter(pk__in=pks, status=Status.SENDING).update(
            status=Status.DELIVERED,
            delivered_at=now,
            attempts=F("attempts") + 1,
            last_status_code=status_code,
            last_error="",
            resend_requested=False,
            claimed_by="",
        )
    Delivery.objects.bulk_update(
        failed,
        [
            "attempts",
            "status",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "resend_requested",
            "claimed_by",
        ],
    )
    if result.released:
        Delivery.objects.filter(pk__in=result.released, status=Status.SENDING).update(
            status=Status.PENDING, claimed_by=""
        )
    _update_streaks(outcomes, now, on_pause)


def _update_streaks(outcomes: list[Outcome], now: datetime, on_pause: Callable[[Subscription], None]) -> None:
    """A success ends a subscription's failure streak; a failure lengthens it, blocks the subscription for
    a backoff and, past the limit, pauses it."""
    last: dict[int, Outcome] = {}
    for o in outcomes:
        last[o.delivery.subscription_id] = o
    if not last:
        return
    subscriptions = Subscription.objects.select_for_update().filter(pk__in=last).order_by("pk")
    for subscription in subscriptions:
        o = last[subscription.pk]
        if o.ok:
            if subscription.consecutive_failures or subscription.blocked_until:
                subscription.consecutive_failures = 0
                subscription.failing_since = None
                subscription.blocked_until = None
                subscription.save(update_fields=["consecutive_failures", "failing_since", "blocked_until"])
            continue
        subscription.consecutive_failures += 1
        subscription.failing_since = subscription.failing_since or o.started_at
        subscription.blocked_until = now + backoff(subscription.consecutive_failures)
        fields = ["consecutive_failures", "failing_since", "blocked_until"]
        if subscription.paused_at is None and _should_pause(subscription, now):
            subscription.paused_at = now
            subscription.pause_reason = o.error
            fields += ["paused_at", "pause_reason"]
            on_pause(subscription)
        subscription.save(update_fields=fields)


def _should_pause(subscription: Subscription, now: datetime) -> bool:
    if subscription.consecutive_failures >= settings.WEBHOOKS_PAUSE_AFTER_FAILURES:
        return True
    failing_for = now - (subscription.failing_since or now)
    return failing_for >= timedelta(seconds=settings.WEBHOOKS_PAUSE_AFTER_SECONDS)


def run_once(on_pause: Callable[[Subscription], None], limit: int = BATCH) -> int:
    """Claim, send and store one batch; returns how many deliveries were attempted."""
    ids = claim(timezone.now(), limit)
    if not ids:
        return 0
    result = send(ids)
    store(result, timezone.now(), on_pause)
    return len(result.outcomes)
