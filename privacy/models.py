"""The request log: every export or erasure of a person's data, who asked, and when it is due."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PrivacyRequest(models.Model):
    """One request about a person's data and what was done. The person is kept only as a keyed hash
    (``crm.tombstones.digest``) and as the numbers of their leads."""

    class Action(models.TextChoices):
        EXPORT = "export", _("Export (access)")
        ERASE = "erase", _("Erase (suppression)")

    class SubjectKind(models.TextChoices):
        LEAD = "lead", _("A lead")
        EMAIL = "email", _("An email")
        PHONE = "phone", _("A phone")

    action = models.CharField(_("request"), max_length=8, choices=Action.choices)
    subject_kind = models.CharField(_("subject"), max_length=8, choices=SubjectKind.choices)
    subject_hash = models.CharField(_("subject (keyed hash)"), max_length=64, db_index=True, editable=False)
    lead_ids = models.JSONField(_("leads"), default=list, blank=True)
    brands = models.JSONField(_("brands"), default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    due_on = models.DateField(_("due"))
    completed_at = models.DateTimeField(_("done"), null=True, blank=True)
    outcome = models.JSONField(_("what was done"), default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("personal-data request")
        verbose_name_plural = _("personal-data requests")
        permissions = [("manage_personal_data", _("Can export and erase a person's data"))]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · #{self.pk}"
