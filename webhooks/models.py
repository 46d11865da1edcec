"""Outbound webhooks: the admins' subscriptions, the outbox of lead events, one delivery per event and
subscription, and each attempt's log."""

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField

from crm.models import Brand, Lead, LeadEvent


class EventType(models.TextChoices):
    LEAD_CREATED = "lead.created", _("Lead created")
    LEAD_ASSIGNED = "lead.assigned", _("Lead assigned")
    LEAD_STATUS_CHANGED = "lead.status_changed", _("Lead status changed")
    LEAD_WON = "lead.won", _("Lead won")
    LEAD_LOST = "lead.lost", _("Lead lost")


TEST_EVENT = "webhook.test"
"""The type of the "send test event" delivery; no subscription chooses it."""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Subscription(models.Model):
    """A receiver's URL and the lead events it hears, signed with its own secret (stored encrypted, shown
    once when created or rotated)."""

    name = models.CharField(_("name"), max_length=120)
    url = models.URLField(_("URL"), max_length=500, help_text=_("Deliveries are POSTed here as JSON."))
    events = models.JSONField(_("events"), default=list, blank=True)
    brands = models.ManyToManyField(
        Brand,
        blank=True,
        related_name="+",
        verbose_name=_("brands"),
        help_text=_("Only leads of these brands; with none chosen, every brand."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive: new events are not queued for it.")
    )
    secret = EncryptedCharField(_("signing secret"), max_length=128, default=new_secret, editable=False)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True, editable=False)
    pause_reason = models.TextField(_("pause reason"), blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0, editable=False)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    blocked_until = models.DateTimeField(_("next try"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.name

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class OutboxEvent(models.Model):
    """A lead event a receiver may hear, written in the transaction of the change, with the lead as it
    was then (ids, keys and amounts: no personal data)."""

    event_type = models.CharField(_("event"), max_length=32)
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("lead")
    )
    lead_event = models.ForeignKey(
        LeadEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    brand_id = models.BigIntegerField(_("brand"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred"))
    payload = models.JSONField(_("payload"), default=dict)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["lead_event", "event_type"], name="webhooks_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.lead_id or '-'}"


class Delivery(models.Model):
    """One event for one subscription: sent until a 2xx answer, then never again (unless resent by hand).

    ``uid`` is the ``X-Intralog-Delivery`` header, the same on every attempt: receivers dedupe by it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")

    uid = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(
        OutboxEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True, editable=False)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last answer"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    resend_requested = models.BooleanField(_("resend requested"), default=False)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhooks_delivery_once"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhooks_delivery_due")]

    def __str__(self) -> str:
        return str(self.uid)

    @property
    def event_type(self) -> str:
        return self.event.event_type

    @property
    def lead_id(self) -> int | None:
        return self.event.lead_id


class Attempt(models.Model):
    """One POST of a delivery: its answer or error and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    status_code = models.PositiveSmallIntegerField(_("answer"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    manual = models.BooleanField(_("resent by hand"), default=False)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"
