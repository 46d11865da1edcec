"""WhatsApp alerts through the WhatsApp Business Cloud API (``POST {base}/{phone-number-id}/messages``).

Free text is allowed for 24 hours after the person last wrote to us (the webhook records it); outside
that window only an approved template goes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import phonenumbers
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import whatsapp as cloud_api
from core.whatsapp import OUTSIDE_WINDOW, template_payload, text_payload

from ..messages import admin_home_link
from ..models import Notification, WhatsAppContact
from ..registry import AlertChannel, DeliveryError

if TYPE_CHECKING:
    from crm.models import User

    from ..messages import Digest, Message
    from ..models import AlertRule

WINDOW = timedelta(hours=24)
Status = Notification.Status


def valid_number(number: object) -> str:
    """The number as WhatsApp wants it (digits, no plus), or raise a permanent ``DeliveryError``."""
    return _valid_number(str(number or "").strip())


@lru_cache(maxsize=4096)
def _valid_number(text: str) -> str:
    if not text:
        raise DeliveryError("missing_phone", "The recipient has no WhatsApp number.")
    try:
        parsed = phonenumbers.parse(text, "AR")
    except phonenumbers.NumberParseException as error:
        raise DeliveryError("invalid_phone", f"Invalid WhatsApp number: {text}") from error
    if not phonenumbers.is_valid_number(parsed):
        raise DeliveryError("invalid_phone", f"Invalid WhatsApp number: {text}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def post(payload: dict[str, Any]) -> str:
    """Send one message from the alerts' number (``core.whatsapp``); returns the provider's message id or
    raises a classified ``DeliveryError``."""
    try:
        return cloud_api.post_message(cloud_api.default_account(), payload)
    except cloud_api.ApiError as error:
        raise DeliveryError(
            error.code, error.message, transient=error.transient, needs_admin=error.needs_admin
        ) from error


def send(
    to: str, *, text: str | None = None, template: str, language: str = "en", parameters: Iterable[str] = ()
) -> str:
    """Free text when the 24-hour window is open, else (or on 131047) the approved template."""
    if text is not None:
        try:
            return post(text_payload(to, text))
        except DeliveryError as error:
            if error.code != OUTSIDE_WINDOW:
                raise
    return post(template_payload(to, template, language, list(parameters)))


def template_language(language: str) -> str:
    return "es_AR" if language == "es" else "en"


def open_windows(people: Iterable[User], now: datetime) -> set[str]:
    """The numbers (as stored on the people) that wrote to us in the last 24 hours: one query."""
    numbers = {str(person.whatsapp) for person in people if person.whatsapp}
    if not numbers:
        return set()
    return set(
        WhatsAppContact.objects.filter(phone__in=numbers, last_inbound_at__gt=now - WINDOW).values_list(
            "phone", flat=True
        )
    )


@dataclass(frozen=True)
class WhatsAppDraft:
    text: str | None
    template: str
    language: str
    parameters: tuple[str, ...]


class WhatsAppChannel(AlertChannel[WhatsAppDraft]):
    """Sent first and one request per task: each is a round trip to the Cloud API."""

    name = "whatsapp"
    label = _("WhatsApp")
    send_order = 0
    error_texts = {
        "missing_phone": _("The recipient has no WhatsApp number."),
        "invalid_phone": _("The recipient's WhatsApp number is invalid."),
        "not_configured": _("WhatsApp is not configured."),
    }

    def wanted_by(self, rule: AlertRule) -> bool:
        return rule.send_whatsapp

    def address(self, person: User) -> str:
        return valid_number(person.whatsapp)

    def drafts(self, pairs: Sequence[tuple[Notification, Message]], now: datetime) -> list[WhatsAppDraft]:
        windows = open_windows((notification.recipient for notification, _message in pairs), now)
        return [
            WhatsAppDraft(
                text=message.render("alerts/whatsapp/alert.txt").strip()
                if str(notification.recipient.whatsapp) in windows
                else None,
                template=settings.WHATSAPP_TEMPLATE_NAME,
                language=template_language(message.language),
                parameters=(message.headline, message.custom or message.summary, message.link or "-"),
            )
            for notification, message in pairs
        ]

    def digest_draft(
        self, digest: Digest, notifications: Sequence[Notification], now: datetime
    ) -> WhatsAppDraft:
        recipient = notifications[0].recipient
        in_window = str(recipient.whatsapp) in open_windows([recipient], now)
        return WhatsAppDraft(
            text=digest.render("alerts/email/digest.txt").strip()[:1000] if in_window else None,
            template=settings.WHATSAPP_DIGEST_TEMPLATE_NAME,
            language=template_language(digest.language),
            parameters=(str(digest.count), admin_home_link()),
        )

    def send(self, to: str, draft: WhatsAppDraft) -> str:
        return send(
            to, text=draft.text, template=draft.template, language=draft.language, parameters=draft.parameters
        )


# ---------------------------------------------------------------------------------------------
# The webhook: delivery statuses of sent messages, and inbound messages (which open the window)

STATUS_ORDER: dict[str, int] = {Status.SENT: 1, Status.DELIVERED: 2, Status.READ: 3}


def on_webhook(sender: object, payload: dict[str, Any] | None, **kwargs: Any) -> dict[str, int]:
    """Receiver of ``core.whatsapp.webhook_received``: the staff alerts' statuses and windows."""
    if payload is None:
        return {}
    statuses, inbound = record_webhook(payload)
    return {"statuses": statuses, "messages": inbound}


def record_webhook(payload: dict[str, Any]) -> tuple[int, int]:
    """Apply a Cloud API webhook; returns how many statuses and inbound messages it recorded."""
    statuses, inbound = 0, 0
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            for status in value.get("statuses") or []:
                statuses += record_status(status)
            for message in value.get("messages") or []:
                inbound += record_inbound(message)
    return statuses, inbound


def _when(timestamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=timezone.get_current_timezone())
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def record_status(status: dict[str, Any]) -> int:
    provider_id = str(status.get("id") or "")
    state = str(status.get("status") or "")
    if not provider_id or state not in ("sent", "delivered", "read", "failed"):
        return 0
    when = _when(status.get("timestamp"))
    updated = 0
    for notification in Notification.objects.filter(provider_id=provider_id):
        if state == "failed":
            errors = status.get("errors") or [{}]
            notification.status = Status.FAILED
            notification.error_code = str(errors[0].get("code", ""))[:40]
            notification.error = str(errors[0].get("title") or errors[0].get("message") or "")[:2000]
        elif STATUS_ORDER.get(state, 0) > STATUS_ORDER.get(notification.status, 0):
            notification.status = state
            if state == "delivered":
                notification.delivered_at = when
            if state == "read":
                notification.read_at = when
                notification.delivered_at = notification.delivered_at or when
        else:
            continue
        notification.save(update_fields=["status", "error_code", "error", "delivered_at", "read_at"])
        updated += 1
    return updated


def record_inbound(message: dict[str, Any]) -> int:
    from crm import tombstones  # the channel registry loads before the apps' models

    sender = str(message.get("from") or "").strip()
    if not sender.isdigit() or tombstones.is_erased_phone(f"+{sender}"):
        return 0
    WhatsAppContact.objects.update_or_create(
        phone=f"+{sender}", defaults={"last_inbound_at": _when(message.get("timestamp"))}
    )
    return 1
