"""What happened to the messages we send: the API's acceptance and the statuses its webhook reports.

A message is accepted once (``accepted``): its provider id and ``sent_at`` are stored and the lead's
contact attempt is recorded, whoever learns it first — the send job from the API's answer, or a status
webhook that names the message through ``biz_opaque_callback_data`` (the send job's worker stopped after the
API took the message). A status for an id no message has yet, while a send is under way, is kept
(``EarlyStatus``) and applied when the id is stored, so a webhook read before the send job finished is not
lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm import services
from crm.models import LeadEvent

from .models import Channel, EarlyStatus, Message

CALLBACK_PREFIX = "crm-message:"
EXCERPT = 200
EARLY_KEPT = timedelta(days=2)
STATES = ("sent", "delivered", "read", "failed")
STATUS_ORDER: dict[str, int] = {
    Message.Status.QUEUED: 0,
    Message.Status.SENDING: 0,
    Message.Status.SENT: 1,
    Message.Status.DELIVERED: 2,
    Message.Status.READ: 3,
}


def callback_data(message: Message) -> str:
    """What we send as ``biz_opaque_callback_data``: the message and its attempt, which the API repeats in
    that send's statuses."""
    return f"{CALLBACK_PREFIX}{message.pk}:{message.attempts}"


def message_of_callback(value: Any) -> tuple[int, int] | None:
    """``(message id, attempt)`` named by a status's callback data, or None."""
    parts = str(value or "").removeprefix(CALLBACK_PREFIX).split(":")
    if not str(value or "").startswith(CALLBACK_PREFIX) or len(parts) != 2:  # noqa: PLR2004
        return None
    if not all(part.isdigit() and len(part) < 19 for part in parts):
        return None
    return int(parts[0]), int(parts[1])


def when(timestamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=timezone.get_current_timezone())
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def accepted(
    message_id: int, provider_id: str, at: datetime | None = None, attempt: int | None = None
) -> Message | None:
    """The API took the message as ``provider_id``: store it, record the contact attempt (once), apply
    statuses that came before. Returns the message, or None when it is not an outbound WhatsApp one (or
    not at that ``attempt``)."""
    with transaction.atomic():
        found = Message.objects.select_for_update().filter(
            pk=message_id, channel=Channel.WHATSAPP, direction=Message.Direction.OUTBOUND
        )
        message = (found if attempt is None else found.filter(attempts=attempt)).first()
        if message is None:
            return None
        fields = []
        if not message.provider_id and provider_id:
            message.provider_id = provider_id[:128]
            fields.append("provider_id")
        if message.sent_at is None:
            message.sent_at = at or timezone.now()
            fields.append("sent_at")
            if message.status in (Message.Status.QUEUED, Message.Status.SENDING):
                message.status = Message.Status.SENT
                message.error_code = message.error = ""
                fields += ["status", "error_code", "error"]
            message.next_attempt_at = None
            fields.append("next_attempt_at")
            _log_attempt(message)
        if fields:
            message.save(update_fields=fields)
        if message.provider_id:
            apply_early(message)
    return message


def _log_attempt(message: Message) -> None:
    excerpt = message.body if len(message.body) <= EXCERPT else message.body[: EXCERPT - 1] + "…"
    services.log_contact_attempt(
        message.lead,
        message.sent_by,
        LeadEvent.Channel.WHATSAPP,
        LeadEvent.Outcome.LEFT_MESSAGE,
        excerpt,
        data={"message_id": message.pk, "sent_by_crm": True},
    )


def apply_early(message: Message) -> int:
    """Apply and drop the statuses kept for the message's provider id; returns how many changed it."""
    early = list(EarlyStatus.objects.filter(provider_id=message.provider_id).order_by("received_at", "pk"))
    if not early:
        return 0
    changed = sum(_apply(message, item.status) for item in early)
    EarlyStatus.objects.filter(pk__in=[item.pk for item in early]).delete()
    return changed


def record_status(status: dict[str, Any]) -> int:
    """Apply a sent/delivered/read/failed status to our message with that id (or named by its callback
    data); kept for later when no message has the id yet and a send is under way. Returns 1 when applied."""
    provider_id = str(status.get("id") or "")[:128]
    state = str(status.get("status") or "")
    if not provider_id or state not in STATES:
        return 0
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(channel=Channel.WHATSAPP, provider_id=provider_id)
            .first()
        )
        if message is None:
            named = message_of_callback(status.get("biz_opaque_callback_data"))
            if named is not None:
                return _named(*named, provider_id, state, status)
            kept = _sending()
            if kept:
                EarlyStatus.objects.create(provider_id=provider_id, status=status)
            # The send job may have stored the id since the first look (it then found nothing kept).
            message = Message.objects.filter(channel=Channel.WHATSAPP, provider_id=provider_id).first()
            if message is None or not message.is_outbound:
                return 0
            return apply_early(message) if kept else _apply(message, status)
        if not message.is_outbound:
            return 0
        return _apply(message, status)


def _named(message_id: int, attempt: int, provider_id: str, state: str, status: dict[str, Any]) -> int:
    """A status naming our message whose id we had not stored: the send job has not finished, or stopped
    after the API took the message."""
    if state == "failed":
        claimed = Message.objects.filter(
            pk=message_id,
            channel=Channel.WHATSAPP,
            direction=Message.Direction.OUTBOUND,
            provider_id="",
            attempts=attempt,
        ).update(provider_id=provider_id, next_attempt_at=None)
        message = Message.objects.filter(pk=message_id, provider_id=provider_id).first() if claimed else None
        return _apply(message, status) if message else 0
    message = accepted(message_id, provider_id, when(status.get("timestamp")), attempt)
    if message is None or message.provider_id != provider_id:
        return 0
    return _apply(message, status)


def _sending() -> bool:
    return Message.objects.filter(
        channel=Channel.WHATSAPP,
        direction=Message.Direction.OUTBOUND,
        status=Message.Status.SENDING,
        provider_id="",
    ).exists()


def _apply(message: Message, status: dict[str, Any]) -> int:
    state = str(status.get("status") or "")
    at = when(status.get("timestamp"))
    if state == "failed":
        errors = [item for item in status.get("errors") or [] if isinstance(item, dict)] or [{}]
        details = errors[0].get("error_data")
        details = details if isinstance(details, dict) else {}
        message.status = Message.Status.FAILED
        message.next_attempt_at = None
        message.error_code = str(errors[0].get("code", ""))[:40]
        message.error = str(
            details.get("details") or errors[0].get("title") or errors[0].get("message") or ""
        )[:2000]
    elif message.status != Message.Status.FAILED and STATUS_ORDER.get(state, 0) > STATUS_ORDER.get(
        message.status, -1
    ):
        message.status = state
        if state == "delivered":
            message.delivered_at = at
        if state == "read":
            message.read_at = at
            message.delivered_at = message.delivered_at or at
    else:
        return 0
    message.save(
        update_fields=["status", "error_code", "error", "delivered_at", "read_at", "next_attempt_at"]
    )
    return 1


def apply_kept(limit: int = 500) -> int:
    """Apply kept statuses whose id a message has by now (a send that finished while they were kept)."""
    ids = set(
        Message.objects.filter(
            channel=Channel.WHATSAPP,
            provider_id__in=EarlyStatus.objects.values("provider_id")[:limit],
        ).values_list("pk", flat=True)
    )
    changed = 0
    for pk in ids:
        with transaction.atomic():
            message = Message.objects.select_for_update().get(pk=pk)
            changed += apply_early(message)
    return changed


def purge_early(now: datetime | None = None) -> int:
    """Drop statuses kept for ids no message took (other senders' messages on the same numbers)."""
    deleted, _by_model = EarlyStatus.objects.filter(
        received_at__lt=(now or timezone.now()) - EARLY_KEPT
    ).delete()
    return deleted
