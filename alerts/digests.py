"""The daily digest: every held row of a recipient and channel in one message."""

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from . import outbox, reminders, rules
from . import registry as channels
from .matching import may_see, skip_reason, tags_of
from .messages import Digest, language_of
from .models import Notification
from .registry import DeliveryError

Status = Notification.Status


def send_digests(now: datetime | None = None) -> int:
    """Claim every held row, skip those that no longer hold, send one digest per recipient and channel."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Notification.objects.filter(status=Status.DIGEST)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=ids).update(status=Status.SENDING, claimed_at=now)
    groups: dict[tuple[int, str], list[Notification]] = defaultdict(list)
    snapshot = rules.current()
    notifications = outbox.load(ids)
    tags = tags_of(n.lead_id for n in notifications if n.lead_id)
    tasks = reminders.load_tasks(notifications)
    for notification in notifications:
        notification.attempts += 1
        reason = None
        if notification.lead is not None:
            if not may_see(notification.recipient, notification.lead):
                reason = "not_allowed"
            else:
                reason = skip_reason(notification, snapshot, tags) or reminders.skip_reason(
                    notification, snapshot, tasks
                )
        if reason:
            outbox.skipped(notification, reason)
        groups[(notification.recipient_id, notification.channel)].append(notification)
    for (_recipient_id, channel), members in groups.items():
        wanted = [n for n in members if n.status == Status.SENDING]
        if wanted:
            _send_digest(wanted, channel, now)
    outbox.record(notifications)
    return len(ids)


def _send_digest(notifications: list[Notification], channel_name: str, now: datetime) -> None:
    recipient = notifications[0].recipient
    channel = channels.by_name(channel_name)
    error, provider_id = None, ""
    try:
        if channel is None:
            raise channels.undeclared(channel_name)
        to = channel.address(recipient)
        draft = channel.digest_draft(Digest(notifications, language_of(recipient)), notifications, now)
        provider_id = channel.send_digest(to, draft)
    except DeliveryError as failure:
        error = failure
    for notification in notifications:
        if error:
            outbox.failed(notification, error, now, held_status=Status.DIGEST)
            notification.next_attempt_at = None
        else:
            outbox.succeeded(notification, provider_id, now)
