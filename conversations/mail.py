"""Writing to a lead by email from the lead page: what may be sent, the message with its files, its delivery.

A rep writes from their own address or the brand's sales address (``MailAccount``), starting from the
brand's email template in Spanish or English (``crm.models.ContactTemplate``, placeholders filled from the
lead). The reply-to address is the sales address with the conversation's token after a plus, and the token
also rides in a header, so replies find their lead (``conversations.mailbox``). Files go with the message
within the limits and are kept as the lead's documents. The message is stored queued with its Message-ID
and sent by a job after commit (``deliver``), through the brand's SMTP server (password from the
environment); the server's refusal is kept on the message, which can be sent again (``retry``). A message
the server took is the lead's contact attempt (``crm.services.log_contact_attempt``).
"""

from __future__ import annotations

import mimetypes
import re
import secrets
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from core.jobs import enqueue
from crm import access, contact, services
from crm.models import ContactTemplate, Lead, LeadEvent, User

from .models import Attachment, Channel, Conversation, MailAccount, Message

SUBJECT_LIMIT = 255
BODY_LIMIT = 50_000
MAX_FILES = 10
EXCERPT = 200
THREAD_HEADER = "X-Intralog-Thread"
_EMAIL = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


class Sender:
    REP = "rep"
    BRAND = "brand"


@dataclass
class EmailCompose:
    """What the lead page offers for emailing a lead: ``blocked`` says why nothing can be sent."""

    account: MailAccount | None
    rep_address: str
    language: str
    other_language: str
    subject: str = ""
    body: str = ""
    languages: list[tuple[str, str]] = field(default_factory=list)
    blocked: str = ""


def account_for(lead: Lead) -> MailAccount | None:
    return MailAccount.objects.filter(brand_id=lead.brand_id, is_active=True).first()


def is_address(value: str) -> bool:
    return bool(value and len(value) <= 254 and _EMAIL.match(value))


def blocked_reason(lead: Lead, account: MailAccount | None) -> str:
    """Why nothing can be emailed to ``lead``, in words, or "" when it can."""
    if lead.opted_out_at is not None:
        return _("The contact asked for no more messages (opted out); nothing can be sent.")
    if lead.merged_into_id:
        return _("This lead was merged into another; write from that lead.")
    if not is_address(lead.email):
        return _("The lead has no email address to write to.")
    if account is None:
        return _("The brand has no mail account set up; an admin can add it under Settings.")
    return ""


def compose(lead: Lead, user: User, language: str = "") -> EmailCompose:
    """The email form for ``lead``: the brand's template in ``language`` (else the lead's) filled in."""
    account = account_for(lead)
    templates = [t for t in contact.brand_templates(lead) if t.channel == ContactTemplate.Channel.EMAIL]
    language = language if language in contact.LANGUAGES else contact.lead_language(lead)
    template = contact.pick_template(templates, ContactTemplate.Channel.EMAIL, language)
    values = contact.placeholder_values(lead, user, language)
    return EmailCompose(
        account=account,
        rep_address=user.email if is_address(user.email) else "",
        language=template.language if template else language,
        other_language=contact.other_language(language),
        subject=contact.fill(template.subject, values) if template else "",
        body=contact.fill(template.body, values) if template else "",
        languages=[(t.language, str(t.get_language_display())) for t in templates],
        blocked=blocked_reason(lead, account),
    )


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name without path or odd characters."""
    cleaned = _UNSAFE_NAME.sub("_", (name or "").replace("\\", "/").split("/")[-1]).strip(" ._")
    return (cleaned or fallback)[:150]


def allowed_type(name: str) -> str:
    """The file's type by its name when it is one accepted (``CONVERSATIONS_MEDIA_TYPES``), else ""."""
    guessed = mimetypes.guess_type(name)[0] or ""
    return guessed if guessed in settings.CONVERSATIONS_MEDIA_TYPES else ""


def check_files(files: Sequence[UploadedFile]) -> None:
    """Refuse, in words, files over the size limits, of types not accepted, or too many."""
    limit = settings.CONVERSATIONS_EMAIL_ATTACHMENT_MAX_BYTES
    if len(files) > MAX_FILES:
        raise ValidationError(_("Attach at most %(count)s files.") % {"count": MAX_FILES}, code="files")
    errors = []
    for upload in files:
        name = safe_name(upload.name or "")
        if (upload.size or 0) > limit:
            errors.append(
                _("“%(name)s” is %(size)s; each file may be at most %(limit)s.")
                % {"name": name, "size": filesizeformat(upload.size or 0), "limit": filesizeformat(limit)}
            )
        elif not allowed_type(name):
            errors.append(
                _("“%(name)s” is not a file type that can be sent (PDF, images, text and office documents).")
                % {"name": name}
            )
    total = sum(upload.size or 0 for upload in files)
    if not errors and total > settings.CONVERSATIONS_EMAIL_TOTAL_MAX_BYTES:
        errors.append(
            _("The files add up to %(size)s; one email may carry at most %(limit)s.")
            % {
                "size": filesizeformat(total),
                "limit": filesizeformat(settings.CONVERSATIONS_EMAIL_TOTAL_MAX_BYTES),
            }
        )
    if errors:
        raise ValidationError(errors, code="files")


def _locked(lead: Lead) -> Lead:
    return Lead.objects.select_for_update().select_related("brand").get(pk=lead.pk)


def _check(lead: Lead, user: User) -> MailAccount:
    if not access.can_act_on_lead(user, lead, "contact"):
        raise PermissionDenied(_("You may not write to this lead."))
    account = account_for(lead)
    reason = blocked_reason(lead, account)
    if reason:
        raise ValidationError(reason, code="blocked")
    assert account is not None  # noqa: S101 - blocked_reason says so
    return account


def conversation_for(lead: Lead, address: str) -> Conversation:
    """The lead's email conversation, with its thread token (made once)."""
    conversation, _created = Conversation.objects.get_or_create(
        lead=lead, channel=Channel.EMAIL, defaults={"address": address, "thread_token": secrets.token_hex(8)}
    )
    if not conversation.thread_token:
        conversation.thread_token = secrets.token_hex(8)
        conversation.save(update_fields=["thread_token"])
    return conversation


@transaction.atomic
def send_email(  # noqa: PLR0913 - the parts of one email
    lead: Lead,
    user: User,
    *,
    sender: str,
    subject: str,
    body: str,
    files: Sequence[UploadedFile] = (),
) -> Message:
    """Queue an email to the lead from ``sender`` (``Sender.REP`` or ``Sender.BRAND``), its files kept as
    the lead's documents; the job sends it after commit."""
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        raise ValidationError(_("Write a subject."), code="subject")
    if not body:
        raise ValidationError(_("Write a message first."), code="empty")
    if len(subject) > SUBJECT_LIMIT or len(body) > BODY_LIMIT:
        raise ValidationError(_("The subject or the message is too long."), code="long")
    check_files(files)
    lead = _locked(lead)
    account = _check(lead, user)
    if sender == Sender.REP:
        if not is_address(user.email):
            raise ValidationError(_("Your account has no email address; send as the brand."), code="sender")
        from_address = formataddr((user.get_full_name().strip(), user.email))
    else:
        from_address = formataddr((account.display_name or lead.brand.name, account.address))
    conversation = conversation_for(lead, lead.email)
    message = Message.objects.create(
        conversation=conversation,
        lead=lead,
        channel=Channel.EMAIL,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.DOCUMENT if files else Message.Kind.TEXT,
        status=Message.Status.QUEUED,
        provider_id=make_msgid(f"lead{lead.pk}", domain=account.domain)[:128],
        subject=subject,
        body=body,
        from_address=from_address[:254],
        to_address=lead.email,
        sent_by=user,
    )
    for upload in files:
        name = safe_name(upload.name or "")
        document = Attachment(
            message=message, lead=lead, name=name, content_type=allowed_type(name), size=upload.size or 0
        )
        document.file.save(name, upload, save=False)
        document.save()
    enqueue("conversations.jobs.send_email", message.pk, queue="high")
    return message


@transaction.atomic
def retry(message: Message, user: User) -> Message:
    """Send a failed email again, as it was."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    _check(_locked(message.lead), user)
    if not message.may_retry:
        raise ValidationError(_("Only a message that failed can be sent again."), code="not_failed")
    message.status = Message.Status.QUEUED
    message.error_code = message.error = ""
    message.save(update_fields=["status", "error_code", "error"])
    enqueue("conversations.jobs.send_email", message.pk, queue="high")
    return message


def smtp_connection(account: MailAccount) -> BaseEmailBackend:
    """The brand's SMTP server (password ``EMAIL_SMTP_PASSWORD_<BRAND CODE>``), else the site's."""
    if not account.smtp_host:
        return get_connection(timeout=settings.CONVERSATIONS_MAIL_TIMEOUT)
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=account.smtp_host,
        port=account.smtp_port,
        username=account.smtp_username,
        password=settings.CONVERSATIONS_SMTP_PASSWORDS.get(account.brand.code.lower(), ""),
        use_tls=account.smtp_security == MailAccount.Security.STARTTLS,
        use_ssl=account.smtp_security == MailAccount.Security.TLS,
        timeout=settings.CONVERSATIONS_MAIL_TIMEOUT,
    )


def build(message: Message, account: MailAccount, connection: BaseEmailBackend | None = None) -> EmailMessage:
    """The email as it goes out: reply-to with the thread token, the token header, the files."""
    token = message.conversation.thread_token
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=message.from_address,
        to=[message.to_address],
        reply_to=[formataddr((account.display_name or account.brand.name, account.reply_address(token)))],
        headers={"Message-ID": message.provider_id, THREAD_HEADER: token},
        connection=connection,
    )
    for document in message.attachments.all():
        with document.file.open("rb") as handle:
            email.attach(document.name, handle.read(), document.content_type)
    return email


def failure_text(error: Exception) -> tuple[str, str]:
    """``(code, words)`` of a refusal by the mail server, or of not reaching it."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [str(code) for code, _text in error.recipients.values()]
        return (codes[0] if codes else "refused"), _("The mail server refused the address: %(detail)s") % {
            "detail": "; ".join(f"{code} {text!r}" for code, text in error.recipients.values())
        }
    if isinstance(error, smtplib.SMTPResponseException):
        return str(error.smtp_code), _("The mail server refused the message (%(code)s): %(detail)s") % {
            "code": error.smtp_code,
            "detail": error.smtp_error.decode("utf-8", "replace")
            if isinstance(error.smtp_error, bytes)
            else error.smtp_error,
        }
    return "unreachable", _("The mail server could not be reached: %(detail)s") % {"detail": error}


def deliver(message_id: int) -> Message | None:
    """Send one queued email (the job). Claimed first, so a job run twice sends it once."""
    claimed = Message.objects.filter(
        pk=message_id,
        status=Message.Status.QUEUED,
        direction=Message.Direction.OUTBOUND,
        channel=Channel.EMAIL,
    ).update(status=Message.Status.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return None
    message = Message.objects.select_related("lead__brand", "conversation", "sent_by").get(pk=message_id)
    lead = message.lead
    account = account_for(lead)
    try:
        if lead.opted_out_at is not None:
            raise ValidationError(_("Not sent: the contact asked for no more messages."), code="opted_out")
        if account is None:
            raise ValidationError(
                _("Not sent: the brand has no mail account (ask an admin)."), code="account"
            )
        build(message, account, smtp_connection(account)).send()
    except ValidationError as error:
        return _failed(message, error.code or "refused", " ".join(error.messages))
    except (smtplib.SMTPException, OSError) as error:
        return _failed(message, *failure_text(error))
    with transaction.atomic():
        message.status = Message.Status.SENT
        message.sent_at = timezone.now()
        message.save(update_fields=["status", "sent_at"])
        note = _("Email: %(subject)s") % {"subject": message.subject}
        services.log_contact_attempt(
            lead,
            message.sent_by,
            LeadEvent.Channel.EMAIL,
            LeadEvent.Outcome.LEFT_MESSAGE,
            note if len(note) <= EXCERPT else note[: EXCERPT - 1] + "…",
            data={"message_id": message.pk, "sent_by_crm": True},
        )
    return message


def _failed(message: Message, code: str, text: str) -> Message:
    message.status = Message.Status.FAILED
    message.error_code = code[:40]
    message.error = text[:2000]
    message.save(update_fields=["status", "error_code", "error"])
    return message
