"""WordPress sites that feed leads: their forms and cursors, the raw inbox, webhook deliveries and sync runs."""

import secrets
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.timezone import localtime, now
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel

DEFAULT_TIMEZONE = "America/Argentina/Buenos_Aires"


def new_webhook_secret():
    return secrets.token_urlsafe(32)


def new_webhook_token():
    return secrets.token_urlsafe(32)


def validate_timezone(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value}) from error


class WordPressSource(ClusterableModel):
    """A WordPress site the sync pulls from (and receives webhooks from)."""

    class Shape(models.TextChoices):
        LEGACY = "legacy", _("Legacy custom endpoint")
        GRAVITY = "gravity", _("Gravity Forms REST API v2")
        COLLECTION = "collection", _("WordPress-style collection")

    class Health(models.TextChoices):
        UNKNOWN = "unknown", _("Not synced yet")
        OK = "ok", _("Healthy")
        FAILING = "failing", _("Failing")
        CREDENTIALS_INVALID = "credentials_invalid", _("Credentials invalid")
        LACKS_RIGHTS = "lacks_rights", _("User lacks the rights")

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True, help_text=_("Used in the webhook URL."))
    shape = models.CharField(_("shape"), max_length=16, choices=Shape.choices)
    url = models.URLField(
        _("URL"),
        max_length=500,
        help_text=_(
            "Legacy: the base the form id is appended to; Gravity Forms: the site root; "
            "collection: the collection URL."
        ),
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    app_password = EncryptedCharField(
        _("application password"), max_length=200, blank=True, null=True, editable=False
    )
    timezone = models.CharField(
        _("site time zone"), max_length=64, default=DEFAULT_TIMEZONE, validators=[validate_timezone]
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    interval_minutes = models.PositiveIntegerField(_("sync interval (minutes)"), default=5)
    page_size = models.PositiveSmallIntegerField(_("page size"), default=100)
    rescan_hours = models.PositiveIntegerField(
        _("re-scan window (hours)"),
        default=72,
        help_text=_("Submissions changed upstream within this window (spam, trash) are looked at again."),
    )
    webhook_secret = EncryptedCharField(_("webhook secret"), max_length=128, default=new_webhook_secret)
    webhook_token = models.CharField(
        _("webhook URL token"), max_length=128, default=new_webhook_token, unique=True
    )
    health = models.CharField(_("health"), max_length=24, choices=Health.choices, default=Health.UNKNOWN)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    next_sync_at = models.DateTimeField(_("next scheduled sync"), null=True, blank=True)
    lock_owner = models.CharField(max_length=200, blank=True, editable=False)
    lock_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("WordPress source")
        verbose_name_plural = _("WordPress sources")

    def __str__(self):
        return self.name

    @property
    def external_key(self):
        """The ``Lead.external_source`` of this source's leads (stable even if the slug changes)."""
        return f"wp-{self.pk}"

    REFUSED_HEALTH = (Health.CREDENTIALS_INVALID, Health.LACKS_RIGHTS)

    @property
    def credentials_invalid(self):
        return self.health == self.Health.CREDENTIALS_INVALID

    @property
    def access_refused(self):
        """The site refused the credentials (401) or their rights (403): no scheduled sync until edited."""
        return self.health in self.REFUSED_HEALTH

    @property
    def has_password(self):
        return bool(self.app_password)

    @property
    def password_unreadable(self):
        """Whether the stored application password could not be decrypted (``SECRET_KEY`` changed).

        ``encrypted_fields`` then reads back the Fernet token itself: at least 100 characters, ``gAAAAA``
        first (version byte 0x80 and a timestamp), which no WordPress application password is.
        """
        value = self.app_password or ""
        return len(value) >= 100 and value.startswith("gAAAAA")


class SourceForm(models.Model):
    """One form of a source: its brand, default service, field mapping and sync cursor."""

    source = ParentalKey(
        WordPressSource, on_delete=models.CASCADE, related_name="forms", verbose_name=_("source")
    )
    form_id = models.CharField(_("form id"), max_length=32)
    brand = models.ForeignKey(
        "crm.Brand", on_delete=models.PROTECT, related_name="+", verbose_name=_("brand")
    )
    default_service = models.ForeignKey(
        "crm.Service",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default service"),
    )
    field_mapping = models.JSONField(
        _("field mapping"),
        default=dict,
        blank=True,
        help_text=_(
            "Label or field id → lead field (contact_name, company, email, phone, location, service, message, "
            "utm_source…). The original Spanish labels map by default; unmapped fields go to the extra data."
        ),
    )
    cursor = models.BigIntegerField(_("last stored id"), default=0, editable=False)
    rescanned_at = models.DateTimeField(_("last re-scan"), null=True, blank=True, editable=False)
    fully_rescanned_at = models.DateTimeField(
        _("last complete re-scan"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When every submission the site lists for the form was last compared with the CRM."),
    )

    class Meta:
        ordering = ["source", "form_id"]
        verbose_name = _("source form")
        verbose_name_plural = _("source forms")
        constraints = [models.UniqueConstraint(fields=["source", "form_id"], name="wordpress_form_unique")]

    def __str__(self):
        return f"{self.source} · {self.form_id}"


class Submission(models.Model):
    """A submission as received (raw payload first), and what became of it: a lead, or quarantine."""

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        STORED = "stored", _("Stored as a lead")
        QUARANTINED = "quarantined", _("Quarantined")
        DISMISSED = "dismissed", _("Dismissed")

    class Origin(models.TextChoices):
        PULL = "pull", _("Pull")
        WEBHOOK = "webhook", _("Webhook")

    source = models.ForeignKey(
        WordPressSource,
        on_delete=models.CASCADE,
        related_name="submissions",
        verbose_name=_("source"),
        db_index=False,  # the unique (source, form, external id) index leads with it
    )
    form_id = models.CharField(_("form id"), max_length=32)
    external_id = models.CharField(_("external id"), max_length=64)
    origin = models.CharField(_("origin"), max_length=8, choices=Origin.choices, default=Origin.PULL)
    upstream_status = models.CharField(_("status upstream"), max_length=16, blank=True)
    payload = models.JSONField(_("raw payload"), default=dict)
    digest = models.CharField(
        _("payload digest"),
        max_length=32,
        blank=True,
        editable=False,
        help_text=_("Of the status and payload as the site sent them; a re-read that matches is skipped."),
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.RECEIVED)
    reason = models.TextField(_("quarantine reason"), blank=True)
    lead = models.ForeignKey(
        "crm.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("lead")
    )
    received_at = models.DateTimeField(_("received"), default=now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "form_id", "external_id"], name="wordpress_submission_unique"
            )
        ]
        indexes = [models.Index(fields=["state", "-received_at"], name="wordpress_sub_state")]

    def __str__(self):
        return f"{self.source} · {self.form_id} · {self.external_id}"


class QuarantinedSubmission(Submission):
    """The quarantine list in the admin (records that could not become leads)."""

    class Meta:
        proxy = True
        verbose_name = _("quarantined submission")
        verbose_name_plural = _("quarantine")


class WebhookDelivery(models.Model):
    """A webhook body exactly as accepted, kept before anything else happens to it."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(
        WordPressSource, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("source")
    )
    delivery_id = models.CharField(_("delivery id"), max_length=128, blank=True)
    body = models.BinaryField(_("body"))
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64, db_index=True)
    content_type = models.CharField(_("content type"), max_length=200, blank=True)
    authenticated_by = models.CharField(_("authenticated by"), max_length=16)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PENDING)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    received_at = models.DateTimeField(_("received"), default=now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "delivery_id"],
                condition=~Q(delivery_id=""),
                name="wordpress_delivery_unique",
            )
        ]
        indexes = [models.Index(fields=["state", "received_at"], name="wordpress_delivery_state")]

    def __str__(self):
        return f"{self.source} · {self.delivery_id or self.pk}"


class SyncRun(models.Model):
    """One sync of one source: when, how it ended, and per form what was fetched and stored."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        MANUAL = "manual", _("Sync now")
        COMMAND = "command", _("Command line")

    source = models.ForeignKey(
        WordPressSource, on_delete=models.CASCADE, related_name="runs", verbose_name=_("source")
    )
    trigger = models.CharField(_("trigger"), max_length=12, choices=Trigger.choices, default=Trigger.SCHEDULE)
    full = models.BooleanField(_("full re-read"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), default=now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    form_counts = models.JSONField(_("per form"), default=dict, blank=True)
    fetched = models.PositiveIntegerField(_("fetched"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    quarantined = models.PositiveIntegerField(_("quarantined"), default=0)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")

    def __str__(self):
        return f"{self.source} · {localtime(self.started_at):%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None
