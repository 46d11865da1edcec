"""What the Cloud API tells us about the brands' numbers: messages from contacts and our messages' statuses.

The webhook body is kept first (``accept``, from ``core.whatsapp.webhook_received``), then read in a job
(``process_delivery``): each change names the business number it is for (``metadata.phone_number_id``),
which gives the brand; a number no brand has is kept and ignored with its reason. A message is matched
to the brand's lead with the sender's number (``crm.duplicates.original_of_contact``: the original of
its duplicates, or the lead it was merged into); a number no lead has becomes a lead through
``crm.intake.create_lead`` (source WhatsApp), so classification, duplicates and assignment apply. The
provider's message id is unique, so a webhook sent again stores nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.jobs import enqueue
from crm import duplicates, services, tombstones
from crm.intake import LeadData, PersonErased, create_lead
from crm.models import Lead, Source
from crm.normalise import fold, phone_to_e164

from . import statuses
from .models import Channel, Conversation, Message, WebhookDelivery, WhatsAppNumber

logger = logging.getLogger(__name__)

OPT_OUT_WORDS = frozenset({"baja", "stop"})
MEDIA_KINDS = {"image": Message.Kind.IMAGE, "document": Message.Kind.DOCUMENT}
TEXT_LIMIT = 10_000


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
    return sum(1 for pk in ids if process_delivery(pk) is not None)


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
    return sum(1 for pk in ids if process_delivery(pk) is not None)


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
    """Read one kept body: messages, statuses, and what was ignored and why. Safe to run twice."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, state=WebhookDelivery.State.PENDING)
            .first()
        )
        if delivery is None:
            return None
        result = {"messages": 0, "repeats": 0, "statuses": 0, "leads": 0}
        ignored: list[str] = []
        payload = _payload(bytes(delivery.body))
        if payload is None:
            ignored.append("invalid_json")
        else:
            numbers = {
                number.phone_number_id: number
                for number in WhatsAppNumber.objects.filter(is_active=True).select_related("brand")
            }
            for phone_number_id, value in changes(payload):
                number = numbers.get(phone_number_id)
                if number is None:
                    ignored.append(f"unknown_phone_number_id:{phone_number_id[:64]}")
                    continue
                _read_change(number, value, result)
        delivery.result = result
        delivery.reason = "; ".join(ignored)
        anything = result["messages"] or result["statuses"] or result["repeats"]
        ignored_all = bool(ignored) and not anything
        delivery.state = WebhookDelivery.State.IGNORED if ignored_all else WebhookDelivery.State.PROCESSED
        delivery.processed_at = timezone.now()
        fields = ["result", "reason", "state", "processed_at"]
        if result.get("erased"):
            # A message of a person whose data was erased: its body is not kept (its digest still
            # recognises a replay).
            delivery.body = b""
            fields.append("body")
        delivery.save(update_fields=fields)
    return delivery


def _payload(raw: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def changes(payload: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(phone number id, value)`` of each change the body holds."""
    for entry in _items(payload.get("entry")):
        for change in _items(entry.get("changes")):
            value = change.get("value")
            if isinstance(value, dict):
                yield str(_dict(value.get("metadata")).get("phone_number_id") or ""), value


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _read_change(number: WhatsAppNumber, value: dict[str, Any], result: dict[str, int]) -> None:
    names = {
        str(contact.get("wa_id") or ""): str(_dict(contact.get("profile")).get("name") or "")
        for contact in _items(value.get("contacts"))
    }
    for message in _items(value.get("messages")):
        try:
            stored = record_inbound(number, message, names.get(str(message.get("from") or ""), ""))
        except PersonErased:
            result["erased"] = result.get("erased", 0) + 1
            continue
        if stored is None:
            result["repeats"] += 1
            continue
        result["messages"] += 1
        result["leads"] += int(stored.created_lead)
    for status in _items(value.get("statuses")):
        result["statuses"] += statuses.record_status(status)


def _when(timestamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=timezone.get_current_timezone())
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def read_content(message: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """``(kind, text, media)`` of a received message: its text or caption, and for an image or a
    document the provider's file id, type and name."""
    kind = str(message.get("type") or "")
    if kind == "text":
        return Message.Kind.TEXT, str(_dict(message.get("text")).get("body") or "")[:TEXT_LIMIT], {}
    if kind in MEDIA_KINDS:
        media = _dict(message.get(kind))
        return (
            MEDIA_KINDS[kind],
            str(media.get("caption") or "")[:TEXT_LIMIT],
            {
                "media_id": str(media.get("id") or "")[:128],
                "media_type": str(media.get("mime_type") or "")[:200],
                "media_name": str(media.get("filename") or "")[:255],
            },
        )
    if kind == "button":
        return Message.Kind.TEXT, str(_dict(message.get("button")).get("text") or "")[:TEXT_LIMIT], {}
    return Message.Kind.OTHER, "", {}


def is_opt_out(text: str) -> bool:
    """A reply of BAJA or STOP, whatever its case, accents, spaces and punctuation."""
    return fold(text) in OPT_OUT_WORDS


class Stored:
    def __init__(self, message: Message, created_lead: bool):
        self.message = message
        self.created_lead = created_lead


def record_inbound(number: WhatsAppNumber, message: dict[str, Any], profile_name: str = "") -> Stored | None:
    """Store one message from a contact, on its lead's conversation and timeline; None when it was stored
    before (the provider sent the webhook again) or names no sender. Raises ``crm.intake.PersonErased``
    (nothing stored) when the number's person was erased."""
    provider_id = str(message.get("id") or "")[:128]
    sender = "".join(ch for ch in str(message.get("from") or "") if ch.isdigit())
    if not provider_id or not sender:
        return None
    if Message.objects.filter(channel=Channel.WHATSAPP, provider_id=provider_id).exists():
        return None
    phone = phone_to_e164(f"+{sender}") or f"+{sender}"
    kind, text, media = read_content(message)
    when = _when(message.get("timestamp"))
    try:
        with transaction.atomic():
            # Before the contact's lock, as every intake: an erasure of this person waits, or is seen.
            tombstones.hold_off_erasures()
            lead, created = _lead_for(number, phone, provider_id, profile_name, text, when)
            stored = _store(lead, phone, provider_id, kind, text, media, when)
    except IntegrityError:
        # The same message, stored meanwhile by another run of a repeated webhook.
        return None
    if stored.media_state == Message.MediaState.PENDING:
        transaction.on_commit(lambda: _enqueue_media(stored.pk))
    return Stored(stored, created)


def _lead_for(
    number: WhatsAppNumber, phone: str, provider_id: str, profile_name: str, text: str, when: datetime
) -> tuple[Lead, bool]:
    """The brand's lead with this number, or a new one (source WhatsApp) through the intake."""
    duplicates.lock_contacts([Lead(brand_id=number.brand_id, phone_e164=phone)])
    lead_id = duplicates.original_of_contact(number.brand_id, phone)
    if lead_id is not None:
        return Lead.objects.get(pk=lead_id), False
    data = LeadData(
        brand=number.brand,
        source=Source.objects.filter(key="whatsapp").first(),
        contact_name=profile_name,
        phone=phone,
        message=text,
        external_source="whatsapp",
        external_form=number.phone_number_id,
        external_id=provider_id,
        submitted_at=when,
    )
    return create_lead(data), True


def _store(  # noqa: PLR0913 - one message's parts
    lead: Lead, phone: str, provider_id: str, kind: str, text: str, media: dict[str, Any], when: datetime
) -> Message:
    conversation, _created = Conversation.objects.get_or_create(
        lead=lead, channel=Channel.WHATSAPP, defaults={"address": phone}
    )
    stored = Message.objects.create(
        conversation=conversation,
        lead=lead,
        channel=Channel.WHATSAPP,
        direction=Message.Direction.INBOUND,
        kind=kind,
        status=Message.Status.RECEIVED,
        provider_id=provider_id,
        body=text,
        sent_at=when,
        media_state=Message.MediaState.PENDING if media.get("media_id") else Message.MediaState.NONE,
        **media,
    )
    if conversation.last_inbound_at is None or when > conversation.last_inbound_at:
        Conversation.objects.filter(pk=conversation.pk).update(last_inbound_at=when, address=phone)
    data = {"message_id": stored.pk, "kind": kind}
    shown = text or (media.get("media_name") or str(Message.Kind(kind).label))
    services.receive_message(lead, Channel.WHATSAPP, shown, data)
    if kind == Message.Kind.TEXT and is_opt_out(text):
        services.opt_out(lead, Channel.WHATSAPP, text, data)
    return stored


def _enqueue_media(message_id: int) -> None:
    try:
        enqueue("conversations.jobs.download_media", message_id)
    except Exception as error:  # noqa: BLE001 - the file can be fetched again later
        logger.warning("WhatsApp file of message %s not fetched: %r", message_id, error)
