"""Email alerts through Django's email backends (SMTP in production, console in development)."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.translation import gettext_lazy as _

from ..registry import AlertChannel, DeliveryError

if TYPE_CHECKING:
    from crm.models import User

    from ..messages import Digest, Message
    from ..models import AlertRule, Notification

KEEP_SECONDS = 30
_local = threading.local()


def _open() -> BaseEmailBackend:
    backend = get_connection(fail_silently=False)
    try:
        backend.open()
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError("smtp_connect", str(error), transient=True) from error
    return backend


def _close(backend: BaseEmailBackend) -> None:
    with suppress(OSError, smtplib.SMTPException):
        backend.close()


@contextmanager
def connection() -> Iterator[BaseEmailBackend]:
    """One backend connection for a batch of messages."""
    backend = _open()
    try:
        yield backend
    finally:
        _close(backend)


def _settings_key() -> tuple[object, ...]:
    return (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
    )


def kept_connection() -> BaseEmailBackend:
    """This thread's backend connection, kept open between batches.

    A connection idle for a while is checked with ``NOOP`` first (the server may have closed it) and
    renewed after ``KEEP_SECONDS``, so a message is never sent twice over a connection found broken.
    """
    held = getattr(_local, "held", None)
    now = time.monotonic()
    if held is not None:
        key, backend, used = held
        if key != _settings_key() or now - used > KEEP_SECONDS or (now - used > 1 and not _alive(backend)):
            drop_kept_connection()
            held = None
    backend = held[1] if held is not None else _open()
    _local.held = (_settings_key(), backend, now)
    return backend


def _alive(backend: BaseEmailBackend) -> bool:
    smtp = getattr(backend, "connection", None)
    if smtp is None or not hasattr(smtp, "noop"):
        return True
    try:
        return smtp.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def drop_kept_connection() -> None:
    held = getattr(_local, "held", None)
    _local.held = None
    if held is not None:
        _close(held[1])


def send_kept(to: str, subject: str, text: str, html: str) -> None:
    """Send one message over this thread's kept connection (dropped after a connection failure)."""
    try:
        send(kept_connection(), to, subject, text, html)
    except DeliveryError as error:
        if error.code in ("smtp_connect", "smtp_error"):
            drop_kept_connection()
        raise


def send(backend: BaseEmailBackend, to: str, subject: str, text: str, html: str) -> None:
    """Send one message; classifies SMTP failures as transient (4xx, network) or permanent (5xx)."""
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], connection=backend
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        code, reason = next(iter(error.recipients.values()))
        raise _classified(code, reason) from error
    except smtplib.SMTPResponseException as error:
        raise _classified(error.smtp_code, error.smtp_error) from error
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError("smtp_error", str(error), transient=True) from error


def _classified(code: int, reason: bytes | str) -> DeliveryError:
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return DeliveryError(f"smtp_{code}", str(reason), transient=400 <= int(code) < 500)


@dataclass(frozen=True)
class EmailDraft:
    subject: str
    text: str
    html: str


class EmailChannel(AlertChannel[EmailDraft]):
    """Emails share SMTP connections: each sender thread keeps one, and a batch is split evenly among them."""

    name = "email"
    label = _("Email")
    send_order = 1
    spread_evenly = True
    error_texts = {"missing_email": _("The recipient has no email address.")}

    def wanted_by(self, rule: AlertRule) -> bool:
        return rule.send_email

    def address(self, person: User) -> str:
        if not person.email:
            raise DeliveryError("missing_email", "The recipient has no email address.")
        return person.email

    def drafts(self, pairs: Sequence[tuple[Notification, Message]], now: datetime) -> list[EmailDraft]:
        return [
            EmailDraft(
                message.subject,
                message.render("alerts/email/alert.txt"),
                message.render("alerts/email/alert.html"),
            )
            for _notification, message in pairs
        ]

    def digest_draft(
        self, digest: Digest, notifications: Sequence[Notification], now: datetime
    ) -> EmailDraft:
        return EmailDraft(
            digest.subject,
            digest.render("alerts/email/digest.txt"),
            digest.render("alerts/email/digest.html"),
        )

    def send(self, to: str, draft: EmailDraft) -> str:
        send_kept(to, draft.subject, draft.text, draft.html)
        return ""

    def send_digest(self, to: str, draft: EmailDraft) -> str:
        """A digest goes over a connection of its own, closed right after."""
        with connection() as backend:
            send(backend, to, draft.subject, draft.text, draft.html)
        return ""
