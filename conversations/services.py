"""Writing to a lead on WhatsApp from the lead page: what may be sent now, the message, its delivery.

Free text goes out while the 24-hour window is open (the contact wrote in the last 24 hours); otherwise
only an approved template of the brand's number, its parameters filled from the lead. Nothing goes to a
lead that opted out. The message is stored queued and sent by a job after commit (``deliver``); a passing
error is tried again with backoff by the periodic ``resume``, which also recovers sends a stopped worker left;
the API's refusal is kept on the message, which can be sent again (``retry``). A message the API accepted is the
lead's contact attempt (``crm.services.log_contact_attempt``): the first one is its first contact, which
the dashboards' first-response figures read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from core import whatsapp as cloud_api
from core.jobs import enqueue
from crm import access, contact
from crm.models import Lead, User
from crm.normalise import is_mobile

from . import statuses
from .models import Channel, Conversation, Message, WhatsAppNumber, WhatsAppTemplate

logger = logging.getLogger(__name__)
WINDOW = timedelta(hours=24)
TEXT_LIMIT = 4096
_PARAMETER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass
class Compose:
    """What the lead page offers for writing to a lead: ``blocked`` says why nothing can be sent."""

    number: WhatsAppNumber | None
    window_open: bool
    window_ends_at: datetime | None
    templates: list[WhatsAppTemplate] = field(default_factory=list)
    blocked: str = ""


def number_for(lead: Lead) -> WhatsAppNumber | None:
    return WhatsAppNumber.objects.filter(brand_id=lead.brand_id, is_active=True).first()


def window_ends_at(conversation: Conversation | None) -> datetime | None:
    if conversation is None or conversation.last_inbound_at is None:
        return None
    return conversation.last_inbound_at + WINDOW


def blocked_reason(lead: Lead, number: WhatsAppNumber | None) -> str:
    """Why nothing can be sent to ``lead`` on WhatsApp, in words, or "" when something can."""
    if lead.opted_out_at is not None:
        return _("The contact asked for no more messages (opted out); nothing can be sent.")
    if lead.merged_into_id:
        return _("This lead was merged into another; write from that lead.")
    if not lead.phone_e164 or not is_mobile(lead.phone_e164):
        return _("The lead has no mobile number WhatsApp can reach.")
    if number is None:
        return _("The brand has no WhatsApp number set up; an admin can add it under Settings.")
    return ""


def compose(lead: Lead, now: datetime | None = None) -> Compose:
    """What can be sent to ``lead`` now: the brand's number with its templates, and the window read with
    it (two queries)."""
    now = now or timezone.now()
    last_inbound = Conversation.objects.filter(lead=lead.pk, channel=Channel.WHATSAPP).values(
        "last_inbound_at"
    )
    number = (
        WhatsAppNumber.objects.filter(brand_id=lead.brand_id, is_active=True)
        .annotate(last_inbound_at=Subquery(last_inbound[:1]))
        .prefetch_related("templates")
        .first()
    )
    last = getattr(number, "last_inbound_at", None)
    ends = last + WINDOW if last else None
    return Compose(
        number=number,
        window_open=bool(ends and ends > now),
        window_ends_at=ends,
        templates=list(number.templates.all()) if number else [],
        blocked=blocked_reason(lead, number),
    )


def template_parameters(template: WhatsAppTemplate, lead: Lead, sender: User) -> list[str]:
    """The template's parameters in order, from the lead (``crm.contact`` placeholders); the API refuses
    empty ones, so a value the lead lacks is "-"."""
    values = contact.placeholder_values(lead, sender, template.language[:2].lower())
    return [(values.get(key) or "").strip()[:1000] or "-" for key in template.parameter_keys]


def template_text(template: WhatsAppTemplate, parameters: list[str]) -> str:
    """The approved text as the contact reads it, or the template's label when its text is not given."""
    if not template.text:
        return f"[{template.label}]"

    def fill(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return parameters[index] if 0 <= index < len(parameters) else match.group(0)

    return _PARAMETER.sub(fill, template.text)


def _check(lead: Lead, user: User) -> WhatsAppNumber:
    if not access.can_act_on_lead(user, lead, "contact"):
        raise PermissionDenied(_("You may not write to this lead."))
    number = number_for(lead)
    reason = blocked_reason(lead, number)
    if reason:
        raise ValidationError(reason, code="blocked")
    assert number is not None  # noqa: S101 - blocked_reason says so
    return number


def _locked(lead: Lead) -> Lead:
    return Lead.objects.select_for_update().select_related("brand").get(pk=lead.pk)


def _conversation(lead: Lead) -> Conversation:
    conversation, _created = Conversation.objects.get_or_create(
        lead=lead, channel=Channel.WHATSAPP, defaults={"address": lead.phone_e164}
    )
    return conversation


@transaction.atomic
def send_text(lead: Lead, user: User, text: str) -> Message:
    """Queue free text to the lead; only while the 24-hour window is open."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Write a message first."), code="empty")
    if len(text) > TEXT_LIMIT:
        raise ValidationError(
            _("A WhatsApp message holds at most %(count)s characters.") % {"count": TEXT_LIMIT}, code="long"
        )
    lead = _locked(lead)
    _check(lead, user)
    conversation = _conversation(lead)
    ends = window_ends_at(conversation)
    if not ends or ends <= timezone.now():
        raise ValidationError(
            _("The contact has not written in the last 24 hours: send an approved template instead."),
            code="window_closed",
        )
    return _queue(conversation, user, kind=Message.Kind.TEXT, body=text)


@transaction.atomic
def send_template(lead: Lead, user: User, template: WhatsAppTemplate) -> Message:
    """Queue an approved template of the brand's number, its parameters filled from the lead."""
    lead = _locked(lead)
    number = _check(lead, user)
    if template.number_id != number.pk:
        raise ValidationError(_("Choose one of the brand's templates."), code="template")
    parameters = template_parameters(template, lead, user)
    return _queue(
        _conversation(lead),
        user,
        kind=Message.Kind.TEMPLATE,
        body=template_text(template, parameters),
        template_name=template.name,
        template_language=template.language,
        template_parameters=parameters,
    )


def _queue(conversation: Conversation, user: User, **fields: object) -> Message:
    message = Message.objects.create(
        conversation=conversation,
        lead=conversation.lead,
        channel=Channel.WHATSAPP,
        direction=Message.Direction.OUTBOUND,
        status=Message.Status.QUEUED,
        sent_by=user,
        next_attempt_at=timezone.now() + queued_grace(),
        **fields,
    )
    enqueue("conversations.jobs.send_message", message.pk, queue="high")
    return message


@transaction.atomic
def retry(message: Message, user: User) -> Message:
    """Send a failed message again, as it was."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    lead = _locked(message.lead)
    _check(lead, user)
    if not message.may_retry:
        raise ValidationError(_("Only a message that failed can be sent again."), code="not_failed")
    message.status = Message.Status.QUEUED
    message.error_code = message.error = message.provider_id = ""
    message.sent_at = message.delivered_at = message.read_at = None
    message.next_attempt_at = timezone.now() + queued_grace()
    message.save(
        update_fields=[
            "status",
            "error_code",
            "error",
            "provider_id",
            "sent_at",
            "delivered_at",
            "read_at",
            "next_attempt_at",
        ]
    )
    enqueue("conversations.jobs.send_message", message.pk, queue="high")
    return message


def payload(message: Message, to: str) -> dict[str, object]:
    """The API's body for the message, naming it (and this attempt) in the callback data its statuses
    carry back."""
    if message.kind == Message.Kind.TEMPLATE:
        body = cloud_api.template_payload(
            to, message.template_name, message.template_language, message.template_parameters
        )
    else:
        body = cloud_api.text_payload(to, message.body)
    return {**body, "biz_opaque_callback_data": statuses.callback_data(message)}


ERROR_TEXTS = {
    "network": lambda: _("WhatsApp could not be reached."),
    "opted_out": lambda: _("Not sent: the contact asked for no more messages."),
    cloud_api.OUTSIDE_WINDOW: lambda: _("Not sent: the 24-hour window had closed. Send a template."),
    "not_configured": lambda: _("Not sent: WhatsApp has no access token for this brand (ask an admin)."),
}


def error_text(error: cloud_api.ApiError) -> str:
    """The refusal as people read it on the message: ours in words, the provider's with its code."""
    known = ERROR_TEXTS.get(error.code)
    if known:
        return str(known())
    return _("WhatsApp refused the message (error %(code)s): %(detail)s") % {
        "code": error.code,
        "detail": error.message,
    }


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_attempts() -> int:
    return _setting("CONVERSATIONS_SEND_MAX_ATTEMPTS", 5)


def backoff(attempts: int) -> timedelta:
    """How long the job waits before trying again after ``attempts`` tries failed for passing reasons."""
    return timedelta(seconds=_setting("CONVERSATIONS_RETRY_BASE_SECONDS", 15) * 2 ** max(attempts - 1, 0))


def sending_lease() -> timedelta:
    """How long an attempt may take before it is taken as lost: past the API's timeout, and long enough for
    the status webhook of a message the API took to name it (so it is not sent twice)."""
    return timedelta(seconds=_setting("CONVERSATIONS_SENDING_LEASE_SECONDS", 120))


def queued_grace() -> timedelta:
    """How long a queued message waits for its job before the periodic job sends it (the queue was down)."""
    return timedelta(seconds=_setting("CONVERSATIONS_QUEUED_GRACE_SECONDS", 60))


def deliver(message_id: int, now: datetime | None = None) -> Message | None:
    """Send one queued message (the job). Claimed first, so a job run twice sends it once; a message the
    API already took (a status webhook named it) is not sent again. A passing error (network, HTTP 5xx,
    429, throttling) queues it again with backoff, up to ``max_attempts``; any other is kept on it."""
    now = now or timezone.now()
    claimed = Message.objects.filter(
        pk=message_id,
        channel=Channel.WHATSAPP,
        status=Message.Status.QUEUED,
        direction=Message.Direction.OUTBOUND,
    ).update(status=Message.Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + sending_lease())
    if not claimed:
        return None
    message = Message.objects.select_related("lead__brand", "conversation").get(pk=message_id)
    if message.provider_id:
        return statuses.accepted(message.pk, message.provider_id)
    lead = message.lead
    number = number_for(lead)
    try:
        if lead.opted_out_at is not None:
            raise cloud_api.ApiError("opted_out", "The contact opted out.")
        if number is None:
            raise cloud_api.ApiError("not_configured", "No WhatsApp number for the brand.", needs_admin=True)
        account = cloud_api.Account(number.phone_number_id, cloud_api.token_for(lead.brand.code))
        provider_id = cloud_api.post_message(account, payload(message, lead.phone_e164.lstrip("+")))
    except cloud_api.ApiError as error:
        return _failed(message, error, timezone.now())
    return statuses.accepted(message.pk, provider_id)


def _failed(message: Message, error: cloud_api.ApiError, now: datetime) -> Message:
    again = error.transient and message.attempts < max_attempts()
    message.status = Message.Status.QUEUED if again else Message.Status.FAILED
    message.next_attempt_at = now + backoff(message.attempts) if again else None
    message.error_code = error.code[:40]
    message.error = error_text(error)[:2000]
    # Only while still ours: a status webhook may have told meanwhile that the API took it.
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING, provider_id="").update(
        status=message.status,
        next_attempt_at=message.next_attempt_at,
        error_code=message.error_code,
        error=message.error,
    )
    return message


def resume(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """The periodic job: send again the messages whose retry is due or whose job never ran, and recover
    those left "sending" by a worker that stopped — finished as sent when the provider's id is known (a
    status webhook named it), else queued again. Also applies and purges statuses kept for later."""
    now = now or timezone.now()
    outbound = Message.objects.filter(channel=Channel.WHATSAPP, direction=Message.Direction.OUTBOUND)
    stuck = list(
        outbound.filter(status=Message.Status.SENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"recovered": 0, "requeued": 0, "queued": 0}
    for pk in stuck:
        outcome = _recover(pk, now)
        if outcome:
            counts[outcome] += 1
    due = list(
        outbound.filter(status=Message.Status.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        try:
            enqueue("conversations.jobs.send_message", pk, queue="high")
        except Exception as error:  # noqa: BLE001 - the next run tries again
            logger.warning("WhatsApp message %s waits for the next run: %r", pk, error)
    counts["queued"] = len(due)
    counts["early_applied"] = statuses.apply_kept()
    counts["early_purged"] = statuses.purge_early(now)
    return counts


def _recover(message_id: int, now: datetime) -> str:
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=Message.Status.SENDING, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return ""
        if message.provider_id:
            statuses.accepted(message.pk, message.provider_id)
            return "recovered"
        again = message.attempts < max_attempts()
        message.status = Message.Status.QUEUED if again else Message.Status.FAILED
        message.next_attempt_at = now if again else None
        message.error_code = "interrupted"
        message.error = (
            _("The sending was interrupted; it is sent again.")
            if again
            else _("The sending was interrupted too many times: send it again when you can.")
        )
        message.save(update_fields=["status", "next_attempt_at", "error_code", "error"])
    return "requeued"
