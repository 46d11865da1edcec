"""What an import from the old Leads Manager leaves: each old submission's lead, and each run's report."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Lead


class LegacySubmission(models.Model):
    """An old submission already imported: its lead, the last history row brought and what it looked like."""

    old_id = models.BigIntegerField(_("old submission id"), unique=True)
    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="+", verbose_name=_("lead"))
    last_history_id = models.BigIntegerField(_("last history row imported"), default=0)
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    imported_at = models.DateTimeField(_("imported"), auto_now=True)

    class Meta:
        verbose_name = _("imported old submission")
        verbose_name_plural = _("imported old submissions")

    def __str__(self):
        return f"{self.old_id} → {self.lead_id}"


class LegacyImport(models.Model):
    """One run of the import started from the admin (the command runs without one)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    source = models.CharField(_("old database"), max_length=300)
    uploaded_file = models.CharField(_("uploaded file"), max_length=500, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.QUEUED)
    report = models.JSONField(_("report"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("old Leads Manager import")
        verbose_name_plural = _("old Leads Manager imports")

    def __str__(self):
        return f"{self.source} ({self.created_at:%Y-%m-%d %H:%M})"
