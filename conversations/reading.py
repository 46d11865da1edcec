"""Reading kept WhatsApp webhook bodies, several in one go, in the transaction that claimed them
(``conversations.inbound``): ``read``, or its halves ``prepare`` (parse, lock the senders' numbers) and
``complete`` (store), between which the claiming reader gives the next one its turn.

Each change of a body names the business number it is for (``metadata.phone_number_id``), which gives the
brand; a number no brand has is kept and ignored with its reason. A message is matched to the brand's lead
with the sender's number (``crm.duplicates.originals_of_contacts``: the original of its duplicates, or the
lead it was merged into); a number no lead has becomes a lead through ``crm.intake.create_lead`` (source
WhatsApp), so classification, duplicates and assignment apply. The provider's message id is unique, so a
webhook sent again stores nothing twice.

What the bodies share is looked up once: the brands' numbers, the senders' leads, the message ids stored
before; the new messages, their ``message_received`` events (``crm.services.receive_messages``) and log
entries are each written in one insert, and the alert rules hear the events together. What is left is what
reading the bodies one by one in the order given would leave: a lead's messages in that order (one
``created_at``, ascending ids), a message sent twice (in two bodies, or twice in one) stored once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.jobs import enqueue
from crm import duplicates, services, tombstones
from crm.intake import LeadData, NewLeadLookups, PersonErased, create_lead
from crm.models import Lead, Source
from crm.normalise import fold, phone_to_e164

from . import statuses
from .models import Channel, Conversation, Message, WebhookDelivery, WhatsAppNumber

logger = logging.getLogger(__name__)

OPT_OUT_WORDS = frozenset({"baja", "stop"})
MEDIA_KINDS = {"image": Message.Kind.IMAGE, "document": Message.Kind.DOCUMENT}
TEXT_LIMIT = 10_000

STORED, REPEAT, ERASED = "stored", "repeat", "erased"


@dataclass
class Incoming:
    """One message of a body, read and not yet stored; ``outcome`` once it was (or was not)."""

    number: WhatsAppNumber
    provider_id: str
    phone: str
    profile_name: str
    kind: str
    text: str
    media: dict[str, str]
    when: datetime
    lead: Lead | None = None
    created_lead: bool = False
    outcome: str = ""

    @property
    def contact(self) -> tuple[int, str]:
        return self.number.brand_id, self.phone


@dataclass
class Body:
    """A kept body as read: its messages and statuses, what was ignored and why, and the counts."""

    delivery: WebhookDelivery
    messages: list[Incoming] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    result: dict[str, int] = field(
        default_factory=lambda: {"messages": 0, "repeats": 0, "statuses": 0, "leads": 0}
    )


def read(deliveries: Sequence[WebhookDelivery]) -> None:
    """Read claimed bodies (pending, locked by the caller's transaction) in the order given: their messages,
    statuses and what was ignored and why; each delivery is saved processed or ignored, with its result."""
    complete(prepare(deliveries))


def prepare(deliveries: Sequence[WebhookDelivery]) -> list[Body]:
    """The first half of ``read``: the bodies parsed, and their senders' numbers locked until the
    transaction ends (``lock_senders``)."""
    numbers = {
        number.phone_number_id: number
        for number in WhatsAppNumber.objects.filter(is_active=True).select_related("brand").order_by()
    }
    bodies = [parse(delivery, numbers) for delivery in deliveries]
    lock_senders([message for body in bodies for message in body.messages])
    return bodies


def complete(bodies: list[Body]) -> None:
    """The second half of ``read``: messages stored, statuses applied, deliveries saved."""
    messages = [message for body in bodies for message in body.messages]
    if messages:
        store(messages)
    for body in bodies:
        for status in body.statuses:
            body.result["statuses"] += statuses.record_status(status)
    _finish(bodies)


def parse(delivery: WebhookDelivery, numbers: dict[str, WhatsAppNumber]) -> Body:
    body = Body(delivery)
    payload = _payload(bytes(delivery.body))
    if payload is None:
        body.ignored.append("invalid_json")
        return body
    for phone_number_id, value in changes(payload):
        number = numbers.get(phone_number_id)
        if number is None:
            body.ignored.append(f"unknown_phone_number_id:{phone_number_id[:64]}")
            continue
        names = {
            str(contact.get("wa_id") or ""): str(_dict(contact.get("profile")).get("name") or "")
            for contact in _items(value.get("contacts"))
        }
        for message in _items(value.get("messages")):
            incoming = _incoming(number, message, names)
            if incoming is None:
                body.result["repeats"] += 1  # no id or no sender: nothing to store, as a repeat
            else:
                body.messages.append(incoming)
        body.statuses.extend(_items(value.get("statuses")))
    return body


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


def _when(timestamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=timezone.get_current_timezone())
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def _incoming(number: WhatsAppNumber, message: dict[str, Any], names: dict[str, str]) -> Incoming | None:
    provider_id = str(message.get("id") or "")[:128]
    sender = "".join(ch for ch in str(message.get("from") or "") if ch.isdigit())
    if not provider_id or not sender:
        return None
    kind, text, media = read_content(message)
    return Incoming(
        number=number,
        provider_id=provider_id,
        phone=phone_to_e164(f"+{sender}") or f"+{sender}",
        profile_name=names.get(str(message.get("from") or ""), ""),
        kind=kind,
        text=text,
        media=media,
        when=_when(message.get("timestamp")),
    )


def read_content(message: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
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


def lock_senders(messages: list[Incoming]) -> None:
    """Hold off erasures and lock the senders' numbers (as every intake, ``crm.duplicates.lock_contacts``)
    until the transaction ends: a message of theirs another run is storing (the same one in another
    envelope, or the next one) waits for that run's commit, and is then seen stored."""
    if not messages:
        return
    # Before the contacts' locks, as every intake: an erasure of these people waits, or is seen.
    tombstones.hold_off_erasures()
    # Every sender's number at once (one sorted statement, no deadlock).
    duplicates.lock_contacts(
        [Lead(brand_id=brand_id, phone_e164=phone) for brand_id, phone in _contacts(messages)]
    )


def store(messages: list[Incoming]) -> None:
    """Store messages from contacts on their leads' conversations and timelines, in order (their senders
    locked, ``lock_senders``); each one's ``outcome``: stored, a repeat (stored before, or earlier in
    ``messages``), or erased (its number's person was erased: nothing stored)."""
    seen = set(
        Message.objects.filter(
            channel=Channel.WHATSAPP, provider_id__in={message.provider_id for message in messages}
        )
        .order_by()
        .values_list("provider_id", flat=True)
    )
    fresh = []
    for message in messages:
        if message.provider_id in seen:
            message.outcome = REPEAT
        else:
            seen.add(message.provider_id)
            fresh.append(message)
    _find_leads(fresh)
    kept = [message for message in fresh if message.lead is not None]
    if kept:
        _write(kept)


def _contacts(messages: list[Incoming]) -> list[tuple[int, str]]:
    return list(dict.fromkeys(message.contact for message in messages))


def _find_leads(messages: list[Incoming]) -> None:
    """Each message's lead: the brand's lead with the sender's number, or a new one (source WhatsApp)
    through the intake, which the later messages from that number then go to."""
    originals = duplicates.originals_of_contacts(_contacts(messages))
    leads: dict[tuple[int, str], Lead | None] = {}
    found = Lead.objects.in_bulk(set(originals.values()))
    for contact, lead_id in originals.items():
        leads[contact] = found.get(lead_id)
    new_leads = _NewLeads()
    for message in messages:
        lead = leads.get(message.contact)
        if lead is None and message.contact not in new_leads.erased:
            lead = leads[message.contact] = new_leads.create(message)
            message.created_lead = lead is not None
        message.lead = lead
        if lead is None:
            message.outcome = message.outcome or ERASED


class _NewLeads:
    """Leads made for numbers no lead has, with the intake's lookups shared by the batch."""

    def __init__(self) -> None:
        self.erased: set[tuple[int, str]] = set()
        self.lookups = NewLeadLookups()
        self.source: Source | None = None
        self.source_read = False

    def create(self, message: Incoming) -> Lead | None:
        if not self.source_read:
            self.source, self.source_read = Source.objects.filter(key="whatsapp").first(), True
        data = LeadData(
            brand=message.number.brand,
            source=self.source,
            contact_name=message.profile_name,
            phone=message.phone,
            message=message.text,
            external_source="whatsapp",
            external_form=message.number.phone_number_id,
            external_id=message.provider_id,
            submitted_at=message.when,
        )
        try:
            return create_lead(data, lookups=self.lookups)
        except PersonErased:
            self.erased.add(message.contact)
            message.outcome = ERASED
        except IntegrityError:
            # A lead made from this message already (its own savepoint rolled back): nothing new.
            message.outcome = REPEAT
        return None


def _write(messages: list[Incoming]) -> None:
    now = timezone.now()
    conversations = _conversations(messages)
    stored = [_message(message, conversations[_lead(message).pk], now) for message in messages]
    Message.objects.bulk_create(stored)
    _update_windows(messages, conversations)
    # The timeline as one by one: each message's event, and a BAJA's opt-out right after its own.
    received: list[tuple[Lead, str, str, dict[str, Any]]] = []
    for message, row in zip(messages, stored, strict=True):
        message.outcome = STORED
        data = {"message_id": row.pk, "kind": message.kind}
        received.append((_lead(message), Channel.WHATSAPP, _shown(message), data))
        if message.kind == Message.Kind.TEXT and is_opt_out(message.text):
            services.receive_messages(received)
            received = []
            services.opt_out(_lead(message), Channel.WHATSAPP, message.text, data)
        if row.media_state == Message.MediaState.PENDING:
            transaction.on_commit(partial(_enqueue_media, row.pk))
    services.receive_messages(received)


def _lead(message: Incoming) -> Lead:
    assert message.lead is not None
    return message.lead


def _shown(message: Incoming) -> str:
    return message.text or (message.media.get("media_name") or str(Message.Kind(message.kind).label))


def _conversations(messages: list[Incoming]) -> dict[int, Conversation]:
    """``{lead id: its WhatsApp conversation}``, started (with the number it came from) where missing."""
    first = {_lead(message).pk: message for message in reversed(messages)}
    found = {
        conversation.lead_id: conversation
        for conversation in Conversation.objects.filter(lead_id__in=first, channel=Channel.WHATSAPP)
    }
    missing = [message for lead_id, message in first.items() if lead_id not in found]
    if missing:
        Conversation.objects.bulk_create(
            [
                Conversation(lead=_lead(message), channel=Channel.WHATSAPP, address=message.phone)
                for message in missing
            ],
            ignore_conflicts=True,  # one started meanwhile (a rep's first message) is the one
        )
        found.update(
            (conversation.lead_id, conversation)
            for conversation in Conversation.objects.filter(
                lead_id__in=[_lead(message).pk for message in missing], channel=Channel.WHATSAPP
            )
        )
    return found


def _update_windows(messages: list[Incoming], conversations: dict[int, Conversation]) -> None:
    """A conversation's last message from the contact (its window) and the number it came from, when a
    message is later than what it had: one update per distinct value (a burst's share a few seconds)."""
    changed: dict[int, tuple[datetime, str | None]] = {}
    for message in messages:
        conversation = conversations[_lead(message).pk]
        if conversation.last_inbound_at is None or message.when > conversation.last_inbound_at:
            earlier = changed.get(conversation.pk)
            moved = conversation.address != message.phone or (earlier is not None and earlier[1] is not None)
            conversation.last_inbound_at, conversation.address = message.when, message.phone
            # The number is written only when it changed, so that most windows share a value.
            changed[conversation.pk] = (message.when, message.phone if moved else None)
    groups: dict[tuple[datetime, str | None], list[int]] = {}
    for pk, key in changed.items():
        groups.setdefault(key, []).append(pk)
    for (when, address), pks in groups.items():
        values: dict[str, Any] = (
            {"last_inbound_at": when} if address is None else {"last_inbound_at": when, "address": address}
        )
        Conversation.objects.filter(pk__in=pks).update(**values)


def _message(message: Incoming, conversation: Conversation, now: datetime) -> Message:
    return Message(
        conversation=conversation,
        lead=_lead(message),
        channel=Channel.WHATSAPP,
        direction=Message.Direction.INBOUND,
        kind=message.kind,
        status=Message.Status.RECEIVED,
        provider_id=message.provider_id,
        body=message.text,
        sent_at=message.when,
        created_at=now,
        media_state=Message.MediaState.PENDING if message.media.get("media_id") else Message.MediaState.NONE,
        **message.media,
    )


def _finish(bodies: list[Body]) -> None:
    """Each body's counts, state and reason, and ``processed_at`` just before the commit; a body naming
    an erased person's message is not kept (its digest still recognises a replay). One update per distinct
    outcome (a burst's bodies have a few), cheaper to build and run than one statement row by row."""
    now = timezone.now()
    groups: dict[tuple[str, str, str], list[WebhookDelivery]] = {}
    for body in bodies:
        delivery, result = body.delivery, _tally(body)
        delivery.result, delivery.reason = result, "; ".join(body.ignored)
        anything = result["messages"] or result["statuses"] or result["repeats"]
        ignored_all = bool(body.ignored) and not anything
        delivery.state = WebhookDelivery.State.IGNORED if ignored_all else WebhookDelivery.State.PROCESSED
        delivery.processed_at = now
        if result.get("erased"):
            delivery.body = b""
        key = (json.dumps(result, sort_keys=True), delivery.reason, delivery.state)
        groups.setdefault(key, []).append(delivery)
    for (_result, reason, state), deliveries in groups.items():
        values: dict[str, Any] = {
            "result": deliveries[0].result,
            "reason": reason,
            "state": state,
            "processed_at": now,
        }
        if deliveries[0].result.get("erased"):
            values["body"] = b""
        WebhookDelivery.objects.filter(pk__in=[delivery.pk for delivery in deliveries]).update(**values)


def _tally(body: Body) -> dict[str, int]:
    result = body.result
    for message in body.messages:
        if message.outcome == STORED:
            result["messages"] += 1
            result["leads"] += int(message.created_lead)
        elif message.outcome == ERASED:
            result["erased"] = result.get("erased", 0) + 1
        else:
            result["repeats"] += 1
    return result


def _enqueue_media(message_id: int) -> None:
    try:
        enqueue("conversations.jobs.download_media", message_id)
    except Exception as error:  # noqa: BLE001 - the file can be fetched again later
        logger.warning("WhatsApp file of message %s not fetched: %r", message_id, error)
