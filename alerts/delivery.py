"""Delivering claimed outbox rows: check each still holds, render once per content and language, send
through its channel on kept sender threads, and store every outcome in a few statements."""

import os
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import outbox, reminders, rules
from . import registry as channels
from .matching import may_see, needs_tags, skip_reason, tags_of
from .messages import Message, language_of
from .models import Notification
from .registry import AlertChannel, DeliveryError

Status = Notification.Status


def deliver(causes: Iterable[str] = (), ids: Iterable[int] = (), now: datetime | None = None) -> int:
    """Deliver the due rows of these causes (or ids), then whatever else is due, in batches.

    Draining the backlog lets one job send many rows over kept connections when leads arrive faster
    than single jobs run; the jobs that follow find nothing left and end at once.
    """
    causes, ids = list(causes), list(ids)
    handled = 0
    if causes or ids:
        current = now or timezone.now()
        claimed = outbox.claim(current, causes=causes, ids=ids)
        if claimed:
            send_claimed(claimed, current)
            handled += len(claimed)
    for _round in range(settings.ALERTS_DRAIN_BATCHES):
        current = now or timezone.now()
        claimed = outbox.claim(current)
        if not claimed:
            break
        send_claimed(claimed, current)
        handled += len(claimed)
    return handled


def send_claimed(ids: Sequence[int], now: datetime, force: bool = False) -> None:
    """Send claimed rows: confirm conditions, the follow-up of a reminder and visibility, then each channel
    in its send order, then record. A row of a channel no longer declared fails for an admin to see."""
    notifications = outbox.load(ids)
    snapshot = rules.current()
    tags = tags_of(n.lead_id for n in notifications if n.lead_id and needs_tags(snapshot, n))
    tasks = reminders.load_tasks(notifications)
    visible: dict[tuple[int, int], bool] = {}
    by_channel: dict[str, list[Notification]] = defaultdict(list)
    for notification in notifications:
        notification.attempts += 1
        reason = None
        if not force:
            reason = skip_reason(notification, snapshot, tags) or reminders.skip_reason(
                notification, snapshot, tasks
            )
        if reason is None and notification.lead is not None:
            key = (notification.recipient_id, notification.lead.pk)
            if key not in visible:
                visible[key] = may_see(notification.recipient, notification.lead)
            if not visible[key]:
                reason = "not_allowed"
        if reason:
            outbox.skipped(notification, reason)
        else:
            by_channel[notification.channel].append(notification)
    messages = MessageCache()
    for channel in channels.in_send_order():
        batch = by_channel.pop(channel.name, None)
        if batch:
            _send_batch(channel, batch, messages, now)
    for name, orphans in by_channel.items():
        error = channels.undeclared(name)
        for notification in orphans:
            outbox.failed(notification, error, now)
    outbox.record(notifications)


class MessageCache:
    """One rendering per alert content and language: the rows of one cause share it across rules and people."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: dict[tuple[object, ...], Message] = {}

    def get(self, notification: Notification) -> Message:
        language = language_of(notification.recipient)
        rule = notification.rule
        key = (
            notification.cause,
            notification.trigger,
            notification.context.get("threshold", rule.threshold),
            rule.message_es if language == "es" else rule.message_en,
            language,
        )
        with self.lock:
            message = self.messages.get(key)
            if message is None:
                message = self.messages[key] = Message(notification, language)
        return message


def _send_batch(
    channel: AlertChannel[Any], notifications: list[Notification], messages: MessageCache, now: datetime
) -> None:
    """Render here (this thread holds the database connection), send on the sender threads, wait."""
    drafts = channel.drafts([(n, messages.get(n)) for n in notifications], now)
    work = list(zip(notifications, drafts, strict=True))
    size = -(-len(work) // max(1, settings.ALERTS_SEND_THREADS)) if channel.spread_evenly else 1
    pool = sender_pool()
    for task in [
        pool.submit(_send_each, channel, work[start : start + size], now)
        for start in range(0, len(work), size)
    ]:
        task.result()


def _send_each(channel: AlertChannel[Any], work: list[tuple[Notification, Any]], now: datetime) -> None:
    for notification, draft in work:
        try:
            provider_id = channel.send(channel.address(notification.recipient), draft)
        except DeliveryError as error:
            outbox.failed(notification, error, now)
        else:
            outbox.succeeded(notification, provider_id, now)


_pool_lock = threading.Lock()
_pool_state: dict[str, Any] = {}


def sender_pool() -> ThreadPoolExecutor:
    """Sender threads kept for the life of the process, so each keeps its HTTP and SMTP connections."""
    size = max(1, settings.ALERTS_SEND_THREADS)
    with _pool_lock:
        if _pool_state.get("key") != (os.getpid(), size):
            _pool_state["pool"] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="alerts-send")
            _pool_state["key"] = (os.getpid(), size)
        pool: ThreadPoolExecutor = _pool_state["pool"]
        return pool


def resend(notification: Notification, actor: object = None) -> Notification:
    """Send a notification again now, whatever happened to it before (admin action)."""
    now = timezone.now()
    updated = (
        Notification.objects.filter(pk=notification.pk)
        .exclude(status=Status.SENDING)
        .update(status=Status.SENDING, claimed_at=now, attempts=0, next_attempt_at=None)
    )
    if updated:
        send_claimed([notification.pk], now, force=True)
    notification.refresh_from_db()
    return notification
