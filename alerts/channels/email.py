"""Email alerts through Django's email backends (SMTP in production, console in development)."""

import smtplib
import threading
import time
from contextlib import contextmanager, suppress

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from . import DeliveryError

KEEP_SECONDS = 30
_local = threading.local()


def _open():
    backend = get_connection(fail_silently=False)
    try:
        backend.open()
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError("smtp_connect", str(error), transient=True) from error
    return backend


def _close(backend):
    with suppress(OSError, smtplib.SMTPException):
        backend.close()


@contextmanager
def connection():
    """One backend connection for a batch of messages."""
    backend = _open()
    try:
        yield backend
    finally:
        _close(backend)


def _settings_key():
    return (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
    )


def kept_connection():
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


def _alive(backend):
    smtp = getattr(backend, "connection", None)
    if smtp is None or not hasattr(smtp, "noop"):
        return True
    try:
        return smtp.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def drop_kept_connection():
    held = getattr(_local, "held", None)
    _local.held = None
    if held is not None:
        _close(held[1])


def send_kept(to, subject, text, html):
    """Send one message over this thread's kept connection (dropped after a connection failure)."""
    try:
        send(kept_connection(), to, subject, text, html)
    except DeliveryError as error:
        if error.code in ("smtp_connect", "smtp_error"):
            drop_kept_connection()
        raise


def send(backend, to, subject, text, html):
    """Send one message; classifies SMTP failures as transient (4xx, network) or permanent (5xx)."""
    if not to:
        raise DeliveryError("missing_email", "The recipient has no email address.")
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


def _classified(code, reason):
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return DeliveryError(f"smtp_{code}", str(reason), transient=400 <= int(code) < 500)
