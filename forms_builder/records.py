"""What the lead forms record: each submission and the lead it made, how the visitor used the form,
daily views and errors per form, and the submissions the spam guards refused."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.forms.models import AbstractFormSubmission

LEAD_FORM_PAGE = "forms_builder.LeadFormPage"


class LeadFormSubmission(AbstractFormSubmission):
    """Wagtail's submission record of a lead form, linked to the lead it created."""

    lead = models.OneToOneField(
        "crm.Lead",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="form_submission",
        verbose_name=_("lead"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )

    class Meta(AbstractFormSubmission.Meta):
        verbose_name = _("lead form submission")
        verbose_name_plural = _("lead form submissions")
        indexes = [models.Index(fields=["page", "submit_time"], name="fb_submission_page_time")]


class DeviceClass(models.TextChoices):
    DESKTOP = "desktop", _("Desktop")
    MOBILE = "mobile", _("Mobile")
    TABLET = "tablet", _("Tablet")
    BOT = "bot", _("Bot")
    UNKNOWN = "unknown", _("Unknown")


class SubmissionBehaviour(models.Model):
    """How the visitor reached and used the form before a successful submission."""

    submission = models.OneToOneField(
        LeadFormSubmission, on_delete=models.CASCADE, related_name="behaviour", verbose_name=_("submission")
    )
    page = models.ForeignKey(
        LEAD_FORM_PAGE, on_delete=models.CASCADE, related_name="behaviours", verbose_name=_("form")
    )
    day = models.DateField(_("day"), default=timezone.localdate)
    utm_source = models.CharField(_("UTM source"), max_length=200, blank=True)
    utm_medium = models.CharField(_("UTM medium"), max_length=200, blank=True)
    utm_campaign = models.CharField(_("UTM campaign"), max_length=200, blank=True)
    utm_term = models.CharField(_("UTM term"), max_length=200, blank=True)
    utm_content = models.CharField(_("UTM content"), max_length=200, blank=True)
    referrer = models.CharField(_("referrer"), max_length=500, blank=True)
    landing_page = models.CharField(_("landing page"), max_length=500, blank=True)
    device = models.CharField(_("device"), max_length=8, choices=DeviceClass.choices)
    ip_prefix = models.CharField(_("IP network (truncated)"), max_length=50, blank=True)
    language = models.CharField(_("language"), max_length=35, blank=True)
    fill_seconds = models.FloatField(_("seconds from render to submit"), null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(_("failed attempts before success"), default=0)
    failed_fields = models.JSONField(_("fields that failed"), default=list, blank=True)

    class Meta:
        verbose_name = _("submission behaviour")
        verbose_name_plural = _("submission behaviours")
        indexes = [models.Index(fields=["page", "day"], name="fb_behaviour_page_day")]

    def __str__(self) -> str:
        return f"{self.page_id} · {self.day}"


class FormDailyStats(models.Model):
    """Per form and day: views and invalid attempts, incremented atomically (no row per view)."""

    page = models.ForeignKey(
        LEAD_FORM_PAGE, on_delete=models.CASCADE, related_name="daily_stats", verbose_name=_("form")
    )
    day = models.DateField(_("day"))
    views = models.PositiveIntegerField(_("views"), default=0)
    invalid_attempts = models.PositiveIntegerField(_("invalid attempts"), default=0)

    class Meta:
        verbose_name = _("daily form statistics")
        verbose_name_plural = _("daily form statistics")
        constraints = [models.UniqueConstraint(fields=["page", "day"], name="fb_daily_stats_unique")]
        permissions = [("view_form_report", _("Can view lead form reports"))]

    def __str__(self) -> str:
        return f"{self.page_id} · {self.day}"


class FormFieldErrorDaily(models.Model):
    """Per form, day and field: how many invalid attempts failed on that field."""

    page = models.ForeignKey(
        LEAD_FORM_PAGE, on_delete=models.CASCADE, related_name="field_errors", verbose_name=_("form")
    )
    day = models.DateField(_("day"))
    field_name = models.CharField(_("field"), max_length=255)
    errors = models.PositiveIntegerField(_("errors"), default=0)

    class Meta:
        verbose_name = _("daily field errors")
        verbose_name_plural = _("daily field errors")
        constraints = [
            models.UniqueConstraint(fields=["page", "day", "field_name"], name="fb_field_errors_unique")
        ]

    def __str__(self) -> str:
        return f"{self.page_id} · {self.day} · {self.field_name}"


class RejectionReason(models.TextChoices):
    HONEYPOT = "honeypot", _("Honeypot field filled")
    TOO_FAST = "too_fast", _("Submitted faster than a person can fill it")
    BAD_TOKEN = "bad_token", _("Missing or forged render token")
    RATE_LIMITED = "rate_limited", _("Too many submissions from one network")
    REUSED_TOKEN = "reused_token", _("Sent again from a page already submitted")
    EXPIRED_TOKEN = "expired_token", _("Sent from a page open for too long")


class RejectedSubmission(models.Model):
    """A submission the spam guards refused; no lead was created."""

    page = models.ForeignKey(
        LEAD_FORM_PAGE, on_delete=models.CASCADE, related_name="rejections", verbose_name=_("form")
    )
    reason = models.CharField(_("reason"), max_length=16, choices=RejectionReason.choices)
    day = models.DateField(_("day"), default=timezone.localdate)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    ip_prefix = models.CharField(_("IP network (truncated)"), max_length=50, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    fill_seconds = models.FloatField(_("seconds from render to submit"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("rejected submission")
        verbose_name_plural = _("rejected submissions")
        indexes = [models.Index(fields=["page", "day"], name="fb_rejected_page_day")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} · {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"
