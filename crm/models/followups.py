"""Follow-ups: the next thing to do about a lead, by whom and when."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .leads import Lead


class FollowUp(models.Model):
    """A task on a lead: a call, an email, a visit... due at a time, for a person, until done or cancelled.

    Changed only through ``crm.followups``, which writes a ``follow_up`` lead event for every change and
    keeps ``Lead.next_action_at`` equal to the earliest open follow-up's due time.
    """

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        WHATSAPP = "whatsapp", _("WhatsApp")
        VISIT = "visit", _("Visit")
        QUOTE = "quote", _("Quote")
        OTHER = "other", _("Other")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("lead")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.CALL)
    due_at = models.DateTimeField(_("due"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("assigned to"),
        db_index=False,
    )
    note = models.TextField(_("note"), blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        db_index=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    closed_at = models.DateTimeField(_("done or cancelled"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done or cancelled by"),
        db_index=False,
    )

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(
                fields=["assignee", "due_at"],
                condition=models.Q(state="open"),
                name="crm_followup_open_assignee",
            ),
            models.Index(fields=["due_at"], condition=models.Q(state="open"), name="crm_followup_open_due"),
            models.Index(fields=["lead", "state", "due_at"], name="crm_followup_lead"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.lead}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.due_at < (now or timezone.now())
