"""How long personal data is kept (admins set it) and the log of the retention runs."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

MAX_MONTHS = 240
MAX_DAYS = 3650


@register_setting(icon="time")
class RetentionSettings(BaseGenericSetting):
    """Retention periods; an empty period keeps that data for ever. Only admins edit them."""

    junk_months = models.PositiveSmallIntegerField(
        _("anonymise junk leads after (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_MONTHS)],
        help_text=_(
            "Leads closed as junk (spam, job seekers, negative) this many months ago lose their personal "
            "data; status, dates, brand, service and campaign stay. Empty: never."
        ),
    )
    lost_months = models.PositiveSmallIntegerField(
        _("anonymise lost leads after (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_MONTHS)],
        help_text=_("The same for leads closed as lost (did not advance, not viable). Empty: never."),
    )
    payload_days = models.PositiveIntegerField(
        _("clear raw payloads after (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DAYS)],
        help_text=_(
            "Raw submissions, webhook bodies and form submission records are emptied this many days after "
            "they arrived, once they were read into a lead. Empty: never."
        ),
    )

    class Meta:
        verbose_name = _("data retention")
        verbose_name_plural = _("data retention")


class RetentionRun(models.Model):
    """One run of the retention job: when, who started it, and how many rows of each table it changed."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        COMMAND = "command", _("Command")
        ADMIN = "admin", _("Admin")

    trigger = models.CharField(_("trigger"), max_length=12, choices=Trigger.choices, default=Trigger.SCHEDULE)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    settings = models.JSONField(_("periods applied"), default=dict, blank=True)
    counts = models.JSONField(_("rows changed per table"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} · {self.get_status_display()}"

    @property
    def total(self) -> int:
        return sum(int(value) for value in (self.counts or {}).values())
