"""Email alerts through Django's email backends (SMTP in production, console in development)."""

import smtplib
from contextlib import contextmanager, suppress

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from . import DeliveryError


@contextmanager
def connection():
    """One backend connection for a batch of messages."""
    backend = get_connection(fail_silently=False)
    try:
        backend.open()
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError("smtp_connect", str(error), transient=True) from error
    try:
        yield backend
    finally:
        with suppress(OSError, smtplib.SMTPException):
            backend.close()


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
