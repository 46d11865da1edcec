"""Conversations with leads: the brands' WhatsApp numbers and templates, their mail accounts, messages each
way on either channel, raw webhooks.

A ``Message`` belongs to one lead and one channel (``whatsapp`` or ``email``), with the same fields for both:
direction, status, provider id (an email's Message-ID), body, file. The provider's id is unique per channel,
so a webhook retried by the provider, or a mailbox read twice, stores its message once.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel
from wagtail.models import Orderable

from crm.models import Brand, Lead
from crm.models.contact import PLACEHOLDERS

from .sanitise import clean_html


class PrivateStorage(FileSystemStorage):
    """Files kept under ``CONVERSATIONS_MEDIA_ROOT`` (read at each use), which no web server serves: they
    are downloaded through ``conversations.views.media`` by those who may see the lead."""

    @property
    def base_location(self) -> str:
        return str(settings.CONVERSATIONS_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:  # type: ignore[override]
        return None


_storage = PrivateStorage()


def private_storage() -> PrivateStorage:
    return _storage


class WhatsAppNumber(ClusterableModel):
    """A brand's WhatsApp Business number. Its access token comes from the environment
    (``WHATSAPP_TOKEN_<BRAND CODE>``, else ``WHATSAPP_TOKEN``), never from here."""

    brand = models.OneToOneField(
        Brand, on_delete=models.CASCADE, related_name="whatsapp_number", verbose_name=_("brand")
    )
    phone_number_id = models.CharField(
        _("phone number id"),
        max_length=64,
        unique=True,
        help_text=_(
            "The Cloud API's id of the number (WhatsApp Manager → API setup), not the number itself."
        ),
    )
    display_number = models.CharField(
        _("number"), max_length=32, help_text=_("As people see it, e.g. +54 9 11 5555-0000.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    panels = [
        FieldPanel("brand"),
        FieldPanel("phone_number_id"),
        FieldPanel("display_number"),
        FieldPanel("is_active"),
        InlinePanel("templates", heading=_("Approved templates"), label=_("Template")),
    ]

    class Meta:
        ordering = ["brand__name"]
        verbose_name = _("WhatsApp number")
        verbose_name_plural = _("WhatsApp numbers")

    def __str__(self) -> str:
        return f"{self.brand} · {self.display_number}"


class WhatsAppTemplate(Orderable):
    """A message template WhatsApp approved for a number, and which lead values fill its parameters."""

    number = ParentalKey(WhatsAppNumber, on_delete=models.CASCADE, related_name="templates")
    label = models.CharField(_("label"), max_length=100, help_text=_("What reps choose it by."))
    name = models.CharField(_("template name"), max_length=512, help_text=_("Its name in WhatsApp Manager."))
    language = models.CharField(
        _("language code"), max_length=15, default="es_AR", help_text=_("As approved, e.g. es_AR or en.")
    )
    parameters = models.CharField(
        _("parameters"),
        max_length=200,
        blank=True,
        help_text=_(
            "What fills {{1}}, {{2}}, … in order, comma-separated: name (the contact), company, service, "
            "brand, rep (the sender)."
        ),
    )
    text = models.TextField(
        _("approved text"),
        blank=True,
        help_text=_("The template's text with {{1}}, {{2}}, …, shown in the conversation once sent."),
    )

    panels = [
        FieldPanel("label"),
        FieldPanel("name"),
        FieldPanel("language"),
        FieldPanel("parameters"),
        FieldPanel("text"),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("WhatsApp template")
        verbose_name_plural = _("WhatsApp templates")

    def __str__(self) -> str:
        return self.label

    @property
    def parameter_keys(self) -> list[str]:
        return [key.strip() for key in self.parameters.split(",") if key.strip()]

    def clean(self) -> None:
        unknown = [key for key in self.parameter_keys if key not in PLACEHOLDERS]
        if unknown:
            raise ValidationError(
                {
                    "parameters": _("Unknown parameters: %(names)s. Use %(known)s.")
                    % {"names": ", ".join(unknown), "known": ", ".join(PLACEHOLDERS)}
                }
            )


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("Email")


class MailAccount(models.Model):
    """A brand's sales mailbox: the address mail to leads goes from (or replies to), the SMTP server that
    sends it and the IMAP mailbox read for replies. Passwords come from the environment
    (``EMAIL_SMTP_PASSWORD_<BRAND CODE>``, ``EMAIL_IMAP_PASSWORD_<BRAND CODE>``), never from here."""

    class Security(models.TextChoices):
        NONE = "none", _("No encryption (local servers only)")
        STARTTLS = "starttls", _("STARTTLS")
        TLS = "tls", _("TLS from the start")

    brand = models.OneToOneField(
        Brand, on_delete=models.CASCADE, related_name="mail_account", verbose_name=_("brand")
    )
    address = models.EmailField(
        _("sales address"),
        help_text=_("Mail goes from here when a rep sends as the brand; replies come back to it."),
    )
    display_name = models.CharField(_("name shown"), max_length=100, blank=True)
    smtp_host = models.CharField(
        _("SMTP server"), max_length=255, blank=True, help_text=_("Empty: the site's mail server.")
    )
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(_("SMTP user"), max_length=255, blank=True)
    imap_host = models.CharField(
        _("IMAP server"), max_length=255, blank=True, help_text=_("Empty: replies are not read.")
    )
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(
        _("IMAP security"), max_length=10, choices=Security.choices, default=Security.TLS
    )
    imap_username = models.CharField(_("IMAP user"), max_length=255, blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=255, default="INBOX")
    is_active = models.BooleanField(_("active"), default=True)
    imap_uidvalidity = models.BigIntegerField(_("mailbox UIDVALIDITY"), null=True, blank=True, editable=False)
    imap_last_uid = models.BigIntegerField(_("last message read (UID)"), default=0, editable=False)
    last_read_at = models.DateTimeField(_("last read"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    panels = [
        FieldPanel("brand"),
        FieldPanel("address"),
        FieldPanel("display_name"),
        FieldPanel("smtp_host"),
        FieldPanel("smtp_port"),
        FieldPanel("smtp_security"),
        FieldPanel("smtp_username"),
        FieldPanel("imap_host"),
        FieldPanel("imap_port"),
        FieldPanel("imap_security"),
        FieldPanel("imap_username"),
        FieldPanel("imap_folder"),
        FieldPanel("is_active"),
    ]

    class Meta:
        ordering = ["brand__name"]
        verbose_name = _("mail account")
        verbose_name_plural = _("mail accounts")

    def __str__(self) -> str:
        return f"{self.brand} · {self.address}"

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    def reply_address(self, token: str) -> str:
        """The sales address with the conversation's token after a plus: replies find their lead by it."""
        local, _at, domain = self.address.partition("@")
        return f"{local}+{token}@{domain}"


class Conversation(models.Model):
    """A lead's thread on one channel: the number it goes through and when the contact last wrote (the
    24-hour window in which free text may be sent)."""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("lead")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254, help_text=_("The contact's number or email."))
    thread_token = models.CharField(
        _("thread token"),
        max_length=32,
        blank=True,
        help_text=_("An email conversation's token in its reply-to address and headers."),
    )
    last_inbound_at = models.DateTimeField(_("last message from the contact"), null=True, blank=True)
    created_at = models.DateTimeField(_("started"), default=timezone.now)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(fields=["lead", "channel"], name="conversations_one_per_lead_channel"),
            models.UniqueConstraint(
                fields=["thread_token"],
                condition=~models.Q(thread_token=""),
                name="conversations_unique_thread_token",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.lead_id}"


class Message(models.Model):
    """One message to or from a lead, with its delivery status and what the provider said.

    Messages are in the order the CRM wrote or received them (``created_at``); ``sent_at`` is when the
    provider took ours, or when the contact sent theirs (the provider's time, which opens the window).
    """

    class Direction(models.TextChoices):
        INBOUND = "in", _("Received")
        OUTBOUND = "out", _("Sent")

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        TEMPLATE = "template", _("Template")
        IMAGE = "image", _("Image")
        DOCUMENT = "document", _("Document")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")
        RECEIVED = "received", _("Received")

    class MediaState(models.TextChoices):
        NONE = "", _("No file")
        PENDING = "pending", _("Downloading")
        STORED = "stored", _("Kept")
        REFUSED = "refused", _("Not kept")
        FAILED = "failed", _("Download failed")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name=_("conversation")
    )
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="conversation_messages",
        verbose_name=_("lead"),
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    provider_id = models.CharField(_("provider's message id"), max_length=128, blank=True)
    body = models.TextField(_("text"), blank=True)
    template_name = models.CharField(_("template"), max_length=512, blank=True)
    template_language = models.CharField(_("template language"), max_length=15, blank=True)
    template_parameters = models.JSONField(_("template parameters"), default=list, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        _("next attempt"),
        null=True,
        blank=True,
        help_text=_(
            "Queued: when the job tries again after a passing error. Sending: when the attempt under way "
            "is taken as lost (its worker stopped) and recovered."
        ),
    )
    media_state = models.CharField(
        _("file"), max_length=8, choices=MediaState.choices, default=MediaState.NONE, blank=True
    )
    media_id = models.CharField(_("provider's file id"), max_length=128, blank=True)
    media_type = models.CharField(_("file type"), max_length=200, blank=True)
    media_name = models.CharField(_("file name"), max_length=255, blank=True)
    media_size = models.PositiveIntegerField(_("file size"), null=True, blank=True)
    media_file = models.FileField(
        _("file"), upload_to="whatsapp/%Y/%m/", storage=private_storage, max_length=255, blank=True
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    to_address = models.CharField(_("to"), max_length=1000, blank=True)
    html_body = models.TextField(
        _("HTML"), blank=True, help_text=_("An email's HTML as received; sanitised whenever it is shown.")
    )
    bounced_at = models.DateTimeField(_("bounced"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_id"],
                condition=~models.Q(provider_id=""),
                name="conversations_message_unique_provider_id",
            )
        ]
        indexes = [
            models.Index(fields=["lead", "created_at"], name="conversations_message_lead"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["queued", "sending"], direction="out"),
                name="conversations_message_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} · {self.lead_id} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_outbound(self) -> bool:
        return self.direction == self.Direction.OUTBOUND

    @property
    def file_name(self) -> str:
        return os.path.basename(self.media_file.name or "")

    @property
    def may_retry(self) -> bool:
        return self.is_outbound and self.status == self.Status.FAILED

    @property
    def retrying(self) -> bool:
        """Queued again by the job after a passing error (kept in ``error``)."""
        return self.is_outbound and self.status == self.Status.QUEUED and bool(self.error_code)

    def is_email(self) -> bool:
        return self.channel == Channel.EMAIL

    @property
    def safe_html(self) -> str:
        """The email's HTML as it may be shown: no scripts, styles, forms or remote images."""
        return clean_html(self.html_body) if self.html_body else ""


class EarlyStatus(models.Model):
    """A status the Cloud API sent for a message id no message has yet: the send job had not stored the
    provider's id when the webhook was read. Applied when the id is stored (``conversations.statuses``)."""

    provider_id = models.CharField(_("provider's message id"), max_length=128, db_index=True)
    status = models.JSONField(_("status"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        ordering = ["received_at", "pk"]
        verbose_name = _("early WhatsApp status")
        verbose_name_plural = _("early WhatsApp statuses")

    def __str__(self) -> str:
        return (
            f"{self.provider_id} · {self.status.get('status', '') if isinstance(self.status, dict) else ''}"
        )


class Attachment(models.Model):
    """A file sent with or received in an email, kept with the lead (a lead document), downloaded only
    through ``conversations.views.attachment`` by those who may act on the lead."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="conversation_documents", verbose_name=_("lead")
    )
    file = models.FileField(_("file"), upload_to="email/%Y/%m/", storage=private_storage, max_length=255)
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("file type"), max_length=200)
    size = models.PositiveIntegerField(_("file size"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("lead document")
        verbose_name_plural = _("lead documents")

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """A signed Cloud API webhook body as it arrived, kept before it is read; an identical body (a replay)
    is kept once."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    body = models.BinaryField(_("body"))
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64, unique=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    reason = models.TextField(_("reason"), blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("WhatsApp webhook")
        verbose_name_plural = _("WhatsApp webhooks")
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(state="pending"),
                name="conversations_webhook_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} · {self.get_state_display()}"

    def as_dict(self) -> dict[str, Any]:
        return {"delivery": self.pk, "state": self.state}
