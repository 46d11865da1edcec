"""Alert rules, the notification outbox, personal preferences and the WhatsApp conversation window."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from crm.languages import localised
from crm.models import Brand, Campaign, Lead, LeadEvent, PipelineStatus, Priority, Role, Service, Source

from . import registry as channels


class Trigger(models.TextChoices):
    NEW_LEAD = "new_lead", _("New lead")
    ASSIGNED = "assigned", _("Lead assigned (to the assignee)")
    STATUS_CHANGED = "status_changed", _("Status changed")
    SLA_UNASSIGNED = "sla_unassigned", _("SLA: unassigned for N minutes")
    SLA_NOT_CONTACTED = "sla_not_contacted", _("SLA: not contacted N hours after assignment")
    STALE = "stale", _("Stale lead: no activity for N days")
    INTEGRATION_FAILED = "integration_failed", _("A WordPress source failing")
    FLAGGED_UPSTREAM = "flagged_upstream", _("A worked lead marked spam or trash on its website")
    FOLLOW_UP_DUE = "follow_up_due", _("Follow-up reminder: due in N minutes")
    FOLLOW_UP_OVERDUE = "follow_up_overdue", _("Follow-up reminder: overdue by N minutes")
    MESSAGE_RECEIVED = "message_received", _("The lead sent a message")


LEAD_EVENT_TRIGGERS: dict[str, str] = {
    LeadEvent.Kind.CREATED: Trigger.NEW_LEAD,
    LeadEvent.Kind.ASSIGNED: Trigger.ASSIGNED,
    LeadEvent.Kind.STATUS_CHANGED: Trigger.STATUS_CHANGED,
    LeadEvent.Kind.MESSAGE_RECEIVED: Trigger.MESSAGE_RECEIVED,
}


def trigger_of(event: LeadEvent) -> str | None:
    """The trigger a lead event fires, or None: its kind's, or for the ``classified`` event of a worked
    lead its website flagged (``crm.services.mark_junk_upstream``), ``flagged_upstream``."""
    data = event.data or {}
    if event.kind == LeadEvent.Kind.CLASSIFIED and data.get("flagged_upstream") and data.get("worked"):
        return Trigger.FLAGGED_UPSTREAM
    return LEAD_EVENT_TRIGGERS.get(event.kind)


BREACH_TRIGGERS = (Trigger.SLA_UNASSIGNED, Trigger.SLA_NOT_CONTACTED, Trigger.STALE)
REMINDER_TRIGGERS = (Trigger.FOLLOW_UP_DUE, Trigger.FOLLOW_UP_OVERDUE)


class AlertRule(models.Model):
    """Who hears about which leads, how and when."""

    class Delivery(models.TextChoices):
        IMMEDIATE = "immediate", _("At once")
        DIGEST = "digest", _("In the daily digest")

    name = models.CharField(_("name"), max_length=150)
    name_es = models.CharField(
        _("name (Spanish)"),
        max_length=150,
        blank=True,
        help_text=_("Shown to people who use the admin in Spanish; blank: the name above."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(_("trigger"), max_length=24, choices=Trigger.choices)
    statuses = models.ManyToManyField(
        PipelineStatus,
        blank=True,
        related_name="+",
        verbose_name=_("statuses"),
        help_text=_("For “status changed”: the statuses that alert (none = any)."),
    )
    threshold = models.PositiveIntegerField(
        _("threshold"),
        default=0,
        help_text=_(
            "Minutes unassigned, hours without contact after assignment, days without activity, "
            "minutes before a follow-up is due or minutes it is overdue, depending on the trigger."
        ),
    )
    brands = models.ManyToManyField(Brand, blank=True, related_name="+", verbose_name=_("brands"))
    services = models.ManyToManyField(Service, blank=True, related_name="+", verbose_name=_("services"))
    sources = models.ManyToManyField(Source, blank=True, related_name="+", verbose_name=_("sources"))
    campaigns = models.ManyToManyField(Campaign, blank=True, related_name="+", verbose_name=_("campaigns"))
    min_priority = models.PositiveSmallIntegerField(
        _("minimum priority"), choices=Priority.choices, null=True, blank=True
    )
    tags = models.CharField(
        _("tags"),
        max_length=255,
        blank=True,
        help_text=_("Comma-separated; the lead must carry at least one of them (blank = any)."),
    )
    include_junk = models.BooleanField(_("include junk leads"), default=False)
    notify_assignee = models.BooleanField(
        _("the assignee"),
        default=False,
        help_text=_("For follow-up reminders: the person the follow-up is for."),
    )
    notify_brand_managers = models.BooleanField(_("the managers of the brand"), default=False)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("chosen users")
    )
    role = models.CharField(_("everyone with the role"), max_length=16, choices=Role.choices, blank=True)
    send_email = models.BooleanField(_("email"), default=True)
    send_whatsapp = models.BooleanField(_("WhatsApp"), default=False)
    delivery = models.CharField(
        _("delivery"), max_length=12, choices=Delivery.choices, default=Delivery.IMMEDIATE
    )
    quiet_hours_start = models.TimeField(
        _("quiet hours from"), null=True, blank=True, help_text=_("Alerts in quiet hours wait until the end.")
    )
    quiet_hours_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    message_en = models.TextField(
        _("message (English)"),
        blank=True,
        help_text=_(
            "Optional. Placeholders: {contact_name} {company} {brand} {service} {source} {status} "
            "{priority} {assignee} {message} {link} {threshold}; for follow-up reminders also {task} {due} "
            "{note}."
        ),
    )
    message_es = models.TextField(_("message (Spanish)"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")

    def __str__(self) -> str:
        return self.get_name_display()

    def get_name_display(self) -> str:
        """The name in the active language (listings and inspect views use it for the name column)."""
        return localised(self.name, self.name_es)

    @property
    def channels(self) -> list[str]:
        """The names of the registered channels this rule sends on, in their declared order."""
        return [channel.name for channel in channels.registered() if channel.wanted_by(self)]


class NotificationQuerySet(models.QuerySet["Notification"]):
    def due(self, now: datetime | None = None) -> "NotificationQuerySet":
        now = now or timezone.now()
        return self.filter(status=Notification.Status.PENDING).filter(
            models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now)
        )


# Our own error codes (skips and delivery problems we detect; each channel adds its own); providers'
# errors keep their text.
ERROR_TEXTS = {
    "not_allowed": _("The recipient may not see this lead."),
    "conditions": _("The lead no longer matches the rule."),
    "rule_inactive": _("The rule is no longer active."),
    "lead_muted": _("Alerts are off for this lead."),
    "gone": _("The rule, the lead or the recipient was deleted."),
    "unknown_channel": _("This alert channel is not set up."),
    "follow_up_closed": _("The follow-up was done or cancelled."),
    "follow_up_moved": _("The follow-up was rescheduled or moved to another lead."),
    "not_recipient": _("The rule no longer reaches the recipient (the follow-up is someone else's)."),
}


class Notification(models.Model):
    """The outbox: one message for one recipient on one channel, because of one rule and one cause."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DIGEST = "digest", _("Waiting for the digest")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    # No database constraints on the references: a rule or person deleted while a lead is being
    # created must not make the lead's commit fail. Deletions cascade through the ORM.
    rule = models.ForeignKey(
        AlertRule,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("rule"),
        db_constraint=False,
    )
    cause = models.CharField(_("cause"), max_length=120)
    trigger = models.CharField(_("trigger"), max_length=24, choices=Trigger.choices)
    event = models.ForeignKey(
        LeadEvent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("event"),
        db_constraint=False,
    )
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lead"),
        db_constraint=False,
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("recipient"),
        db_constraint=False,
    )
    channel = models.CharField(_("channel"), max_length=channels.NAME_LENGTH, choices=channels.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    context = models.JSONField(_("context"), default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error = models.TextField(_("error"), blank=True)
    needs_admin = models.BooleanField(_("needs an admin"), default=False)
    provider_id = models.CharField(_("provider message id"), max_length=128, blank=True)
    # The database fills it in for rows inserted by ``outbox.insert_rows`` (one parameter less a row).
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        permissions = [("resend_notification", _("Can resend notifications"))]
        # Cause first: the unique index also serves lookups by cause. The other indexes are partial,
        # so a new row adds entries only to the ones that matter while it is waiting.
        constraints = [
            models.UniqueConstraint(
                fields=["cause", "rule", "recipient", "channel"], name="alerts_notification_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="alerts_notification_waiting",
                condition=models.Q(status__in=["pending", "digest"]),
            ),
            models.Index(
                fields=["claimed_at"],
                name="alerts_notification_sending",
                condition=models.Q(status="sending"),
            ),
            models.Index(
                fields=["provider_id"],
                name="alerts_notification_provider",
                condition=~models.Q(provider_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} → {self.recipient} ({self.get_channel_display()})"

    def get_error_display(self) -> StrOrPromise:
        """The error in the reader's language for our own codes; the provider's text otherwise."""
        channel = channels.by_name(self.channel)
        texts = {**(channel.error_texts if channel else {}), **ERROR_TEXTS}
        return texts.get(self.error_code, self.error)


class Breach(models.Model):
    """An SLA or staleness breach already handled, so the same breach never alerts twice."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="breaches")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "lead", "since"], name="alerts_breach_once")]

    def __str__(self) -> str:
        return f"{self.rule} · {self.lead_id} · {timezone.localtime(self.since):%Y-%m-%d %H:%M}"


class AlertPreferences(models.Model):
    """A person's choice of channels per trigger; everything is on until switched off."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preferences"
    )
    muted = models.JSONField(_("muted"), default=list, blank=True)

    class Meta:
        verbose_name = _("alert preferences")
        verbose_name_plural = _("alert preferences")

    def __str__(self) -> str:
        return str(self.user)

    @staticmethod
    def key(trigger: str, channel: str) -> str:
        return f"{trigger}:{channel}"

    def wants(self, trigger: str, channel: str) -> bool:
        return self.key(trigger, channel) not in self.muted


class WhatsAppContact(models.Model):
    """The last message a number sent us: free text is allowed for 24 hours after it."""

    phone = models.CharField(_("phone (E.164)"), max_length=20, unique=True)
    last_inbound_at = models.DateTimeField(_("last inbound message"))

    class Meta:
        verbose_name = _("WhatsApp contact")
        verbose_name_plural = _("WhatsApp contacts")

    def __str__(self) -> str:
        return self.phone
