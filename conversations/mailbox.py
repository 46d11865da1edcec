"""Replies by email: each brand's sales mailbox read over IMAP on a schedule (``read``), each mail stored once.

The reader keeps a checkpoint per mailbox (its UIDVALIDITY and the last UID read) and moves it in the same
transaction as the mail of a batch, so a reader stopped mid-run (killed, a lost connection) reads that batch
again and loses nothing; each mail is also stored at most once by its Message-ID (the provider id, unique
per channel), so a mailbox read twice, or from a fresh checkpoint, stores nothing twice. The mailbox is
opened read-only: nothing is marked seen or moved.

A mail finds its lead by the conversation's token (in the plus-address it was sent to, or the token
header), else by the message it answers (In-Reply-To, References), else by the sender's address among the
brand's leads (the original of duplicates, or the lead it was merged into); mail from an unknown sender
becomes a lead (source email) through ``crm.intake.create_lead``. A delivery status notification (a
bounce) is recorded on the message it reports. Received HTML is kept as sent and sanitised when shown
(``conversations.sanitise``); files within the limits are kept as the lead's documents.
"""

from __future__ import annotations

import contextlib
import hashlib
import html as html_lib
import imaplib
import logging
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import nh3
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import duplicates, services
from crm.intake import LeadData, create_lead
from crm.models import Lead, Source

from .mail import THREAD_HEADER, allowed_type, is_address, safe_name
from .models import Attachment, Channel, Conversation, MailAccount, Message

logger = logging.getLogger(__name__)

BATCH = 200
TEXT_LIMIT = 100_000
HTML_LIMIT = 500_000
_UID = re.compile(rb"UID (\d+)")
_TOKEN = re.compile(r"^[0-9a-f]{16}$")
_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class MailboxError(Exception):
    """The mailbox could not be read (not configured, refused login, lost connection)."""


@dataclass
class ReadResult:
    stored: int = 0
    repeats: int = 0
    bounces: int = 0
    leads: int = 0
    ignored: int = 0
    last_uid: int = 0
    errors: list[str] = field(default_factory=list)


def message_key(message_id: str) -> str:
    """The provider id a Message-ID is stored under: itself, or its SHA-256 when longer than the column."""
    message_id = (message_id or "").strip()
    if len(message_id) <= 128:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def password_for(account: MailAccount) -> str:
    return str(settings.CONVERSATIONS_IMAP_PASSWORDS.get(account.brand.code.lower(), ""))


def connect(account: MailAccount) -> imaplib.IMAP4:
    """Signed in to the account's mailbox, its folder selected read-only."""
    timeout = settings.CONVERSATIONS_MAIL_TIMEOUT
    context = ssl.create_default_context()
    try:
        if account.imap_security == MailAccount.Security.TLS:
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                account.imap_host, account.imap_port, ssl_context=context, timeout=timeout
            )
        else:
            imap = imaplib.IMAP4(account.imap_host, account.imap_port, timeout=timeout)
            if account.imap_security == MailAccount.Security.STARTTLS:
                imap.starttls(ssl_context=context)
        imap.login(account.imap_username or account.address, password_for(account))
        status, _data = imap.select(_quoted(account.imap_folder), readonly=True)
    except (imaplib.IMAP4.error, OSError) as error:
        raise MailboxError(str(error)) from error
    if status != "OK":
        raise MailboxError(f"folder {account.imap_folder!r} could not be opened")
    return imap


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_validity(imap: imaplib.IMAP4) -> int | None:
    _name, data = imap.response("UIDVALIDITY")
    try:
        return int(data[0]) if data and data[0] else None
    except (TypeError, ValueError):
        return None


def new_uids(imap: imaplib.IMAP4, after: int) -> list[int]:
    """The UIDs after ``after``, in order (``n:*`` also answers the last UID when none is newer)."""
    status, data = imap.uid("SEARCH", None, f"UID {after + 1}:*")  # type: ignore[arg-type]
    if status != "OK":
        raise MailboxError("UID SEARCH failed")
    uids = sorted({int(value) for value in b" ".join(part for part in data if part).split()})
    return [uid for uid in uids if uid > after]


def fetch(imap: imaplib.IMAP4, uids: list[int]) -> Iterator[tuple[int, bytes]]:
    """``(uid, raw mail)`` of each of ``uids``, without marking anything seen."""
    status, data = imap.uid("FETCH", ",".join(str(uid) for uid in uids), "(UID BODY.PEEK[])")
    if status != "OK":
        raise MailboxError("UID FETCH failed")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            match = _UID.search(item[0])
            if match:
                yield int(match.group(1)), item[1]


def read_all() -> list[ReadResult]:
    """Read every active mailbox that has an IMAP server (the periodic job)."""
    results = []
    for account_id in (
        MailAccount.objects.filter(is_active=True).exclude(imap_host="").values_list("pk", flat=True)
    ):
        try:
            results.append(read(account_id))
        except MailboxError as error:
            logger.warning("Mailbox %s not read: %s", account_id, error)
    return results


def read(account_id: int, batch: int = BATCH) -> ReadResult:
    """Read the mail that came since the checkpoint, a batch per transaction with the checkpoint moved."""
    account = MailAccount.objects.select_related("brand").get(pk=account_id)
    result = ReadResult(last_uid=account.imap_last_uid)
    try:
        imap = connect(account)
    except MailboxError as error:
        MailAccount.objects.filter(pk=account_id).update(last_error=str(error)[:2000])
        raise
    try:
        validity = uid_validity(imap)
        after = account.imap_last_uid
        if validity != account.imap_uidvalidity:
            # A new mailbox (or one rebuilt by the server): read it all again; Message-IDs keep it once.
            MailAccount.objects.filter(pk=account_id).update(imap_uidvalidity=validity, imap_last_uid=0)
            after = 0
        uids = new_uids(imap, after)
        for start in range(0, len(uids), batch):
            _read_batch(account_id, list(fetch(imap, uids[start : start + batch])), result)
    except (imaplib.IMAP4.error, OSError) as error:
        MailAccount.objects.filter(pk=account_id).update(last_error=str(error)[:2000])
        raise MailboxError(str(error)) from error
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            imap.logout()
    MailAccount.objects.filter(pk=account_id).update(last_read_at=timezone.now(), last_error="")
    return result


def _read_batch(account_id: int, mails: list[tuple[int, bytes]], result: ReadResult) -> None:
    with transaction.atomic():
        account = MailAccount.objects.select_for_update().select_related("brand").get(pk=account_id)
        last = account.imap_last_uid
        for uid, raw in sorted(mails):
            if uid <= last:
                continue
            outcome = record_email(account, raw)
            setattr(result, outcome, getattr(result, outcome) + 1)
            if outcome == "leads":
                result.stored += 1
            last = uid
        if last != account.imap_last_uid:
            account.imap_last_uid = last
            account.save(update_fields=["imap_last_uid"])
        result.last_uid = last


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)  # noqa: S101 - policy.default makes EmailMessage
    return message


def header(message: EmailMessage, name: str) -> str:
    """A header as text, "" when absent or unreadable."""
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError):
        return ""
    return str(value or "").strip()


def addresses(message: EmailMessage, *names: str) -> list[str]:
    values = [header(message, name) for name in names]
    return [address.lower() for _name, address in getaddresses([v for v in values if v]) if address]


def record_email(account: MailAccount, raw: bytes) -> str:
    """Store one mail of the account's mailbox; the ``ReadResult`` field it counts in: ``stored``,
    ``leads`` (stored on a new lead), ``repeats`` (stored before), ``bounces`` or ``ignored``."""
    message = parse(raw)
    key = message_key(header(message, "Message-ID")) or "sha256:" + hashlib.sha256(raw).hexdigest()
    if Message.objects.filter(channel=Channel.EMAIL, provider_id=key).exists():
        return "repeats"
    if is_bounce(message):
        return "bounces" if record_bounce(message) else "ignored"
    name, sender = parseaddr(header(message, "From"))
    sender = sender.strip().lower()
    if not is_address(sender) or sender == account.address.lower():
        return "ignored"
    text, html = content(message)
    when = _when(header(message, "Date"))
    try:
        with transaction.atomic():
            lead, created = lead_for(account, message, sender, name, key, text, when)
            _store(account, lead, message, key, sender, text, html, when)
    except IntegrityError:
        return "repeats"
    return "leads" if created else "stored"


def _when(value: str) -> datetime:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return timezone.now()
    if when is None:
        return timezone.now()
    return when if timezone.is_aware(when) else timezone.make_aware(when, timezone.get_current_timezone())


def content(message: EmailMessage) -> tuple[str, str]:
    """``(text, html)`` of a mail: its plain part (else its HTML as text) and its HTML part."""
    text = html = ""
    try:
        plain_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        if plain_part is not None:
            text = str(plain_part.get_content())
        if html_part is not None:
            html = str(html_part.get_content())
    except (LookupError, KeyError, ValueError, AssertionError):
        payload = message.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not text and html:
        text = html_text(html)
    return text.strip()[:TEXT_LIMIT], html[:HTML_LIMIT]


def html_text(html: str) -> str:
    """The words of an HTML mail, without tags, for its timeline entry and a mail with no plain part."""
    bare = nh3.clean(
        html[:HTML_LIMIT].replace("<br", "\n<br").replace("</p>", "</p>\n"),
        tags=set(),
        clean_content_tags={"script", "style", "head", "title"},
    )
    text = _SPACES.sub(" ", html_lib.unescape(bare))
    return _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()


def thread_token(account: MailAccount, message: EmailMessage) -> str:
    """The conversation token a reply carries: in the plus-address it went to, else in the header."""
    local, _at, domain = account.address.lower().partition("@")
    for address in addresses(message, "To", "Cc", "Delivered-To", "X-Original-To"):
        box, _at, host = address.partition("@")
        base, plus, token = box.partition("+")
        if plus and base == local and host == domain and _TOKEN.match(token):
            return token
    token = header(message, THREAD_HEADER).lower()
    return token if _TOKEN.match(token) else ""


def lead_for(  # noqa: PLR0913 - one mail's parts
    account: MailAccount, message: EmailMessage, sender: str, name: str, key: str, text: str, when: datetime
) -> tuple[Lead, bool]:
    """The lead a mail belongs to (token, the message it answers, the sender within the brand), or a new
    one (source email) through the intake."""
    token = thread_token(account, message)
    if token:
        lead_id = (
            Conversation.objects.filter(thread_token=token, lead__brand_id=account.brand_id)
            .values_list("lead_id", flat=True)
            .first()
        )
        if lead_id is not None:
            return _surviving(lead_id), False
    answered = [
        message_key(value)
        for value in _MESSAGE_IDS.findall(
            header(message, "In-Reply-To") + " " + header(message, "References")
        )
    ]
    if answered:
        lead_id = (
            Message.objects.filter(
                channel=Channel.EMAIL, provider_id__in=answered[-20:], lead__brand_id=account.brand_id
            )
            .values_list("lead_id", flat=True)
            .first()
        )
        if lead_id is not None:
            return _surviving(lead_id), False
    duplicates.lock_contacts([Lead(brand_id=account.brand_id, email=sender)])
    row = (
        Lead.objects.filter(brand_id=account.brand_id, email=sender)
        .order_by("submitted_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if row is not None:
        return _surviving(row), False
    data = LeadData(
        brand=account.brand,
        source=Source.objects.filter(key="email").first(),
        contact_name=name.strip()[:200],
        email=sender,
        message=(header(message, "Subject") + "\n\n" + text).strip()[:5000],
        external_source="email",
        external_form=account.address[:64],
        external_id=key if len(key) <= 64 else hashlib.sha256(key.encode()).hexdigest(),
        submitted_at=when,
    )
    return create_lead(data), True


def _surviving(lead_id: int) -> Lead:
    """The lead, or the lead it was merged into (followed to the end)."""
    seen: set[int] = set()
    lead = Lead.objects.get(pk=lead_id)
    while lead.merged_into_id and lead.pk not in seen:
        seen.add(lead.pk)
        lead = Lead.objects.get(pk=lead.merged_into_id)
    return lead


def _store(  # noqa: PLR0913 - one mail's parts
    account: MailAccount,
    lead: Lead,
    message: EmailMessage,
    key: str,
    sender: str,
    text: str,
    html: str,
    when: datetime,
) -> Message:
    conversation = Conversation.objects.filter(lead=lead, channel=Channel.EMAIL).first()
    if conversation is None:
        conversation = Conversation.objects.create(lead=lead, channel=Channel.EMAIL, address=sender)
    files, refused = _files(message)
    subject = header(message, "Subject")[:255]
    stored = Message.objects.create(
        conversation=conversation,
        lead=lead,
        channel=Channel.EMAIL,
        direction=Message.Direction.INBOUND,
        kind=Message.Kind.DOCUMENT if files else Message.Kind.TEXT,
        status=Message.Status.RECEIVED,
        provider_id=key,
        subject=subject,
        body=text,
        html_body=html,
        from_address=header(message, "From")[:254],
        to_address=header(message, "To")[:1000],
        sent_at=when,
        error=refused[:2000],
    )
    for file_name, content_type, payload in files:
        document = Attachment(
            message=stored, lead=lead, name=file_name, content_type=content_type, size=len(payload)
        )
        document.file.save(file_name, ContentFile(payload), save=False)
        document.save()
    if conversation.last_inbound_at is None or when > conversation.last_inbound_at:
        Conversation.objects.filter(pk=conversation.pk).update(last_inbound_at=when)
    shown = subject + ("\n" + text if text else "")
    services.receive_message(lead, Channel.EMAIL, shown, {"message_id": stored.pk, "kind": "email"})
    return stored


def _files(message: EmailMessage) -> tuple[list[tuple[str, str, bytes]], str]:
    """The attached files within the limits, and in words those not kept."""
    kept: list[tuple[str, str, bytes]] = []
    refused: list[str] = []
    limit = settings.CONVERSATIONS_EMAIL_ATTACHMENT_MAX_BYTES
    for part in message.iter_attachments():
        name = safe_name(str(part.get_filename() or ""), "attachment")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        content_type = allowed_type(name)
        if len(payload) > limit:
            refused.append(_("%(name)s (larger than the limit)") % {"name": name})
        elif not content_type:
            refused.append(_("%(name)s (type not accepted)") % {"name": name})
        else:
            kept.append((name, content_type, payload))
    note = _("Files not kept: %(names)s.") % {"names": ", ".join(refused)} if refused else ""
    return kept, note


def is_bounce(message: EmailMessage) -> bool:
    """A delivery status notification (RFC 3464): a ``multipart/report`` of ``delivery-status``."""
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == "delivery-status"
    )


def record_bounce(message: EmailMessage) -> bool:
    """Mark the message a failed-delivery report names as bounced, with the server's reason."""
    original_id = ""
    action = status = diagnostic = ""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _status_blocks(part):
                if block.get("Action"):
                    action = str(block.get("Action", "")).strip().lower()
                    status = str(block.get("Status", "")).strip()
                    diagnostic = str(block.get("Diagnostic-Code", "")).strip()
        elif kind in ("message/rfc822", "text/rfc822-headers") and not original_id:
            original_id = _original_id(part)
    if action != "failed" or not original_id:
        return False
    updated = Message.objects.filter(
        channel=Channel.EMAIL, direction=Message.Direction.OUTBOUND, provider_id=message_key(original_id)
    ).update(
        status=Message.Status.BOUNCED,
        bounced_at=_when(header(message, "Date")),
        error_code=status[:40],
        error=(
            _("The mail bounced (%(status)s): %(diagnostic)s") % {"status": status, "diagnostic": diagnostic}
        )[:2000],
    )
    return bool(updated)


def _status_blocks(part: EmailMessage) -> list[EmailMessage]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, EmailMessage)]
    return []


def _original_id(part: EmailMessage) -> str:
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        return header(inner, "Message-ID") if isinstance(inner, EmailMessage) else ""
    headers = HeaderParser(policy=policy.default).parsestr(str(part.get_content()))
    return str(headers.get("Message-ID") or "").strip()
