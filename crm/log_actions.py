"""Wagtail log actions of lead changes (``crm.lead.*``) and people admin, so the history and audit views
label them, and the log models that keep every log view within the CRM's row-level rules (``crm.models.audit``)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.log_actions import LogFormatter
from wagtail.models import ModelLogEntry

from . import system_notes
from .followups import Change
from .models import Lead, LeadLogEntry, PipelineStatus, ScopedModelLogEntry, User
from .tags import tag_labels

LEAD_LOG_ACTIONS = {
    "crm.lead.classified": (_("Classify lead"), _("Lead classified")),
    "crm.lead.assigned": (_("Assign lead"), _("Lead assigned")),
    "crm.lead.status_changed": (_("Change lead status"), _("Lead status changed")),
    "crm.lead.note": (_("Add note to lead"), _("Note added")),
    "crm.lead.contact_attempt": (_("Log contact attempt"), _("Contact attempt logged")),
    "crm.lead.merged": (_("Merge leads"), _("Leads merged")),
    "crm.lead.follow_up": (_("Plan a follow-up"), _("Follow-up changed")),
    "crm.lead.message_received": (_("Receive a message"), _("Message received")),
    "crm.lead.opted_out": (_("Opt out of messages"), _("Opted out of messages")),
    "crm.lead.anonymised": (_("Erase personal data"), _("Personal data erased")),
    "crm.lead.quoted": (_("Change the quote"), _("Quote changed")),
    "crm.lead.won_value": (_("Change the won amount"), _("Won amount changed")),
}


def _status_labels(*keys: str) -> dict[str, str]:
    return {status.key: status.display_label for status in PipelineStatus.objects.filter(key__in=keys)}


def _people(*usernames: str) -> dict[str, str]:
    return {person.get_username(): str(person) for person in User.objects.filter(username__in=usernames)}


def readable_values(action: str, start: str, end: str) -> tuple[str, str]:
    """The event's from/to as people read them: status labels, names, tag labels; none for a no-op."""
    if action in ("crm.lead.classified", "crm.lead.status_changed") and start:
        if start == end:
            return "", ""
        labels = _status_labels(start, end)
        return labels.get(start, start), labels.get(end, end)
    if action == "crm.lead.classified":
        return "", ", ".join(tag_labels(name for name in end.split(", ") if name))
    if action == "crm.lead.assigned":
        names = _people(*(name for name in (start, end) if name))
        return names.get(start, start), names.get(end, end)
    if action == "crm.lead.follow_up":
        return "", str(Change(end).label) if end in Change.values else end
    return start, end


class LeadEventFormatter(LogFormatter):
    """Shows the event's from → to values next to the static message."""

    def format_message(self, log_entry: Any) -> str:
        data = log_entry.data or {}
        start, end = readable_values(log_entry.action, data.get("from") or "", data.get("to") or "")
        if start and end:
            return f"{self.message}: {start} → {end}"
        if start or end:
            return f"{self.message}: {start or end}"
        return str(self.message)

    def format_comment(self, log_entry: Any) -> str:
        return system_notes.render((log_entry.data or {}).get("note", ""))


@hooks.register("register_log_actions")
def register_lead_log_actions(actions: Any) -> None:
    for action, (label, message) in LEAD_LOG_ACTIONS.items():
        actions.register_action(action)(
            type("Formatter", (LeadEventFormatter,), {"label": label, "message": message})
        )


@hooks.register("register_log_actions")
def register_people_log_actions(actions: Any) -> None:
    @actions.register_action("crm.sign_in_lock.cleared")
    class SignInLockCleared(LogFormatter):
        label = _("Clear sign-in lock")
        message = _("Sign-in lock cleared")

        def format_message(self, log_entry: Any) -> str | Promise:
            data = log_entry.data or {}
            return _("Sign-in lock cleared: %(username)s from %(address)s") % {
                "username": data.get("username") or "?",
                "address": data.get("ip_address") or "?",
            }


TWO_FACTOR_LOG_ACTIONS = {
    "crm.two_factor.enrolled": (_("Turn on two-factor sign-in"), _("Two-factor sign-in turned on")),
    "crm.two_factor.disabled": (_("Turn off two-factor sign-in"), _("Two-factor sign-in turned off")),
    "crm.two_factor.reset": (_("Reset two-factor sign-in"), _("Two-factor sign-in reset")),
}


@hooks.register("register_log_actions")
def register_two_factor_log_actions(actions: Any) -> None:
    for action, (label, message) in TWO_FACTOR_LOG_ACTIONS.items():
        actions.register_action(action, label, message)


@hooks.register("register_log_actions", order=1)
def register_row_scoped_log_models(actions: Any) -> None:
    """After Wagtail's own registrations: leads and every other model log through the scoped proxies."""
    actions.register_model(models.Model, ScopedModelLogEntry)
    actions.register_model(Lead, LeadLogEntry)
    actions.log_entry_models.discard(ModelLogEntry)
