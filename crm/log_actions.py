"""Wagtail log actions of lead changes (``crm.lead.*``), so the history and audit views label them, and
the log models that keep every log view within the CRM's row-level rules (``crm.models.audit``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.log_actions import LogFormatter
from wagtail.models import ModelLogEntry

from .models import Lead, LeadLogEntry, ScopedModelLogEntry

LEAD_LOG_ACTIONS = {
    "crm.lead.classified": (_("Classify lead"), _("Lead classified")),
    "crm.lead.assigned": (_("Assign lead"), _("Lead assigned")),
    "crm.lead.status_changed": (_("Change lead status"), _("Lead status changed")),
    "crm.lead.note": (_("Add note to lead"), _("Note added")),
    "crm.lead.contact_attempt": (_("Log contact attempt"), _("Contact attempt logged")),
    "crm.lead.merged": (_("Merge leads"), _("Leads merged")),
}


class LeadEventFormatter(LogFormatter):
    """Shows the event's from → to values next to the static message."""

    def format_message(self, log_entry):
        data = log_entry.data or {}
        start, end = data.get("from") or "", data.get("to") or ""
        if start and end:
            return f"{self.message}: {start} → {end}"
        if start or end:
            return f"{self.message}: {start or end}"
        return str(self.message)

    def format_comment(self, log_entry):
        return (log_entry.data or {}).get("note", "")


@hooks.register("register_log_actions")
def register_lead_log_actions(actions):
    for action, (label, message) in LEAD_LOG_ACTIONS.items():
        actions.register_action(action)(
            type("Formatter", (LeadEventFormatter,), {"label": label, "message": message})
        )


@hooks.register("register_log_actions", order=1)
def register_row_scoped_log_models(actions):
    """After Wagtail's own registrations: leads and every other model log through the scoped proxies."""
    actions.register_model(models.Model, ScopedModelLogEntry)
    actions.register_model(Lead, LeadLogEntry)
    actions.log_entry_models.discard(ModelLogEntry)
