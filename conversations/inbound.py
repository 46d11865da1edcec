"""What the Cloud API tells us about the brands' numbers: messages from contacts and our messages' statuses.

The webhook body is kept first (``accept``, from ``core.whatsapp.webhook_received``), then read in a job
(``process_delivery``). A job reads its own body and, with it, the oldest others still waiting (up to
``BATCH`` in all, in the order they came) in one transaction, with what they share looked up once
(``conversations.reading``); the jobs of those bodies then find them read and end at once, so a burst is
read in batches. When a batch fails, its bodies are read one by one: a body that fails alone stays pending
with the error as its reason, its job fails, the sweeper (``process_pending``) tries it again every minute,
and no other job's batch takes it.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from core.jobs import enqueue

from . import reading
from .models import WebhookDelivery, WhatsAppNumber

logger = logging.getLogger(__name__)

BATCH = 50
"""The most kept bodies one job reads together: its own and the oldest others waiting."""
FAILED = "read_failed"
"""The reason of a pending body whose reading failed (with the error's class): read alone from then on."""


def on_webhook(sender: object, raw: bytes, payload: dict[str, Any] | None, **kwargs: Any) -> dict[str, Any]:
    """Receiver of ``core.whatsapp.webhook_received``: keep the body, read it after commit."""
    delivery, replay = accept(raw)
    if not replay:
        transaction.on_commit(lambda: _enqueue(delivery.pk))
    return {"delivery": delivery.pk, "replay": replay}


def accept(raw: bytes) -> tuple[WebhookDelivery, bool]:
    """Keep the raw body before anything reads it; ``(delivery, is_replay)``: the same body seen before
    (sent again by the provider or by someone who captured it) is kept once and read once."""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        with transaction.atomic():
            return WebhookDelivery.objects.create(body=raw, body_sha256=digest), False
    except IntegrityError:
        return WebhookDelivery.objects.get(body_sha256=digest), True


def _enqueue(delivery_id: int) -> None:
    try:
        enqueue("conversations.jobs.process_webhook", delivery_id, queue="high")
    except Exception as error:  # noqa: BLE001 - a queue down must not lose a kept body
        logger.warning("WhatsApp webhook %s waits for the sweeper: %r", delivery_id, error)


SWEEP_AFTER = timedelta(seconds=60)


def process_pending(limit: int = 500) -> int:
    """Read the kept bodies no job has read a minute after they came (the sweeper); returns how many."""
    ids = list(
        WebhookDelivery.objects.filter(
            state=WebhookDelivery.State.PENDING, received_at__lt=timezone.now() - SWEEP_AFTER
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return read_each(ids)


REREAD_WITHIN = timedelta(days=30)


def reread_for_number(phone_number_id: str) -> int:
    """Read again the kept bodies that named ``phone_number_id`` before a brand had it (ignored then with
    that reason), now that one has; messages already stored are not stored twice. Returns how many."""
    if not phone_number_id:
        return 0
    reason = f"unknown_phone_number_id:{phone_number_id[:64]}"
    ids = [
        pk
        for pk, reasons in WebhookDelivery.objects.filter(
            reason__contains=reason, received_at__gte=timezone.now() - REREAD_WITHIN
        )
        .order_by("received_at", "pk")
        .values_list("pk", "reason")
        if reason in reasons.split("; ")
    ]
    WebhookDelivery.objects.filter(pk__in=ids).update(state=WebhookDelivery.State.PENDING, reason="")
    return read_each(ids)


def on_number_saved(sender: object, instance: WhatsAppNumber, **kwargs: Any) -> None:
    """``post_save`` of a brand's number: once committed, read what came for it before it was set up."""
    if instance.is_active:
        transaction.on_commit(lambda: _enqueue_reread(instance.phone_number_id))


def _enqueue_reread(phone_number_id: str) -> None:
    try:
        enqueue("conversations.jobs.reread_for_number", phone_number_id)
    except Exception as error:  # noqa: BLE001 - the bodies stay kept; saving the number again retries
        logger.warning("WhatsApp webhooks for %s not read again: %r", phone_number_id, error)


def process_delivery(delivery_id: int) -> WebhookDelivery | None:
    """Read one kept body, and with it up to ``BATCH - 1`` others waiting; returns its delivery, or None
    when it was read already (or is being read). Safe to run twice. Raises what reading it raised."""
    return read_batch(delivery_id).get(delivery_id)


def read_batch(delivery_id: int, size: int | None = None) -> dict[int, WebhookDelivery]:
    """Read a kept body and up to ``size - 1`` (``BATCH - 1``) others waiting, the oldest first, that no
    other job holds and none failed before; ``{id: delivery}`` of those read, nothing when the body was
    read already or another job holds it. A body that failed before is read alone.

    The bodies are read in one transaction, in the order they came. When that fails, each is read alone
    (``read_alone``): a failure of another body is logged and left to its own job and the sweeper; a
    failure of this one is raised after the others were read.
    """
    found = WebhookDelivery.objects.filter(pk=delivery_id, state=WebhookDelivery.State.PENDING).order_by()
    reason = next(iter(found.values_list("reason", flat=True)), None)
    if reason is None:
        return {}
    if reason or (size or BATCH) <= 1:
        delivery = read_alone(delivery_id)
        return {} if delivery is None else {delivery.pk: delivery}
    claimed: list[int] = []
    try:
        return {delivery.pk: delivery for delivery in _read(delivery_id, size or BATCH, claimed)}
    except Exception as error:
        if len(claimed) <= 1:
            for pk in claimed:  # this body alone (nothing claimed: the claim itself failed)
                _mark_failed(pk, error)
            raise
        logger.warning("A batch of %s WhatsApp webhooks is read one by one: %r", len(claimed), error)
    read: dict[int, WebhookDelivery] = {}
    failure: Exception | None = None
    for pk in claimed:
        try:
            delivery = read_alone(pk)
        except Exception as error:
            if pk == delivery_id:
                failure = error
            else:
                logger.exception("WhatsApp webhook %s not read; left to its job and the sweeper", pk)
            continue
        if delivery is not None:
            read[pk] = delivery
    if failure is not None:
        raise failure
    return read


def read_alone(delivery_id: int) -> WebhookDelivery | None:
    """Read one kept body by itself; None when it was read already or another job holds it. A failure
    is kept as the pending body's reason (so batches leave it out) and raised."""
    try:
        deliveries = _read(delivery_id, 1, [])
    except Exception as error:
        _mark_failed(delivery_id, error)
        raise
    return deliveries[0] if deliveries else None


def read_each(ids: list[int]) -> int:
    """Read these kept bodies (each with a batch of others waiting); one that fails is logged and the
    others are read. Returns how many bodies were read, the batches' others included."""
    read: set[int] = set()
    for pk in ids:
        if pk in read:
            continue
        try:
            read.update(read_batch(pk))
        except Exception:
            logger.exception("WhatsApp webhook %s not read", pk)
    return len(read)


def _read(delivery_id: int, size: int, claimed: list[int]) -> list[WebhookDelivery]:
    """Claim (``_claim``) and read bodies in one transaction; their ids go to ``claimed`` as soon as they
    are claimed (for the caller to read them one by one should the transaction fail).

    Claiming and locking the senders' numbers take turns between readers (``Turn``): bodies claimed
    first lock their senders first, so a later batch sharing a sender waits for the earlier one's
    commit and a lead's messages stay in the order they came, however the batches' sizes differ.
    """
    with Turn() as turn, transaction.atomic():
        turn.take()
        deliveries = _claim(delivery_id, size)
        claimed.extend(delivery.pk for delivery in deliveries)
        bodies = reading.prepare(deliveries)
        turn.give_back()
        reading.complete(bodies)
    return deliveries


def _claim(delivery_id: int, size: int) -> list[WebhookDelivery]:
    """The pending body ``delivery_id`` and up to ``size - 1`` other pending ones, the oldest first, locked
    until the transaction ends, in the order they came; none another job holds (``SKIP LOCKED``) or that
    failed before. Empty when that body is not pending or another job holds it."""
    pending = WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        state=WebhookDelivery.State.PENDING
    )
    own = list(pending.filter(pk=delivery_id).order_by())
    if not own or size <= 1:
        return own
    others = list(pending.filter(reason="").exclude(pk=delivery_id).order_by("received_at", "pk")[: size - 1])
    return sorted([*own, *others], key=lambda delivery: (delivery.received_at, delivery.pk))


TURN_LOCK = 0x5741_5245_4144  # "WAREAD"
"""The PostgreSQL advisory lock readers take turns with (any number no other lock uses)."""


class Turn:
    """A turn among the readers of kept bodies: a PostgreSQL session lock (nothing elsewhere), given back
    as soon as the reader has locked its senders, or when the block ends (after the transaction rolled
    back, when it failed before)."""

    def __init__(self) -> None:
        self.held = False

    def __enter__(self) -> Turn:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.give_back()

    def take(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [TURN_LOCK])
            self.held = True

    def give_back(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [TURN_LOCK])
        except DatabaseError:
            # The session is gone (and its lock with it), or its transaction failed: closing the
            # connection gives the lock back.
            logger.warning("Closing the database connection to give back the WhatsApp reading turn")
            connection.close()


def _mark_failed(delivery_id: int, error: Exception) -> None:
    """Keep why a pending body could not be read (in its own transaction, after the failed one)."""
    try:
        with transaction.atomic():
            WebhookDelivery.objects.filter(pk=delivery_id, state=WebhookDelivery.State.PENDING).update(
                reason=f"{FAILED}:{type(error).__name__}"[:200]
            )
    except Exception:  # noqa: BLE001 - the error that counts is the one being raised
        logger.exception("Could not note the failure of WhatsApp webhook %s", delivery_id)
