"""An import run (one uploaded file, its mapping, mode, progress and outcome) and the saved column mappings."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Brand


class ImportRun(models.Model):
    """One spreadsheet brought in: what was asked, how far it got and what came of each row."""

    class Mode(models.TextChoices):
        CREATE = "create", _("Create new leads only")
        UPDATE = "update", _("Create, or update the lead with the same email or phone")
        SKIP = "skip", _("Skip rows whose email or phone is already a lead")

    class State(models.TextChoices):
        DRAFT = "draft", _("Mapping")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        REVERTED = "reverted", _("Reverted")

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, verbose_name=_("brand"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, verbose_name=_("imported by")
    )
    file_name = models.CharField(_("file"), max_length=255)
    file_hash = models.CharField(_("file hash"), max_length=64, db_index=True)
    file_size = models.PositiveBigIntegerField(_("size"), default=0)
    stored_file = models.CharField(_("stored file"), max_length=255, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.CREATE)
    send_alerts = models.BooleanField(_("send alerts"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    reverted_count = models.PositiveIntegerField(_("removed by the revert"), default=0)
    kept_count = models.PositiveIntegerField(_("kept by the revert"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    failure = models.TextField(_("failure"), blank=True)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.state in (self.State.DONE, self.State.REVERTED) else 0
        return min(100, self.processed_rows * 100 // self.total_rows)

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


class SavedMapping(models.Model):
    """A person's column mapping for a brand, offered again for their next file."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("user"))
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, verbose_name=_("brand"))
    columns = models.JSONField(_("columns"), default=dict)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("saved column mapping")
        verbose_name_plural = _("saved column mappings")
        constraints = [
            models.UniqueConstraint(fields=["user", "brand"], name="imports_one_mapping_per_brand")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.brand}"
