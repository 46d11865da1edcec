"""What an alert says, in the recipient's language: headline, summary, custom text, link; channels render it.

Lead text is cut to a sane length here and escaped by the templates' autoescaping.
"""

import re
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.template.loader import get_template
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from crm.models import FollowUp, Lead, User
from crm.viewsets.leads import lead_viewset

from .models import REMINDER_TRIGGERS, Notification, Trigger

FIELD_LIMIT = 120
MESSAGE_LIMIT = 300
NOTE_EXCERPT = 60
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def language_of(user: User) -> str:
    """``es`` or ``en``: the recipient's admin language (Wagtail profile), else the site default."""
    try:
        profile = getattr(user, "wagtail_userprofile", None)
    except Exception:  # noqa: BLE001 - no profile row yet
        profile = None
    language = (profile.preferred_language if profile else "") or settings.LANGUAGE_CODE
    return "es" if language.lower().startswith("es") else "en"


def speaking(language: str) -> Any:
    """Translate into ``es`` or ``en``: Spanish is the project's Argentine catalogue (``es-ar``); a bare
    ``es`` would find only Django's and Wagtail's own strings."""
    return translation.override("es-ar" if language == "es" else language)


def absolute(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url or ""
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + url


def lead_link(lead_pk: int) -> str:
    """The absolute address of a lead's page in the admin, from the lead viewset's URL name."""
    return absolute(reverse(lead_viewset.get_url_name("inspect"), args=[lead_pk]))


def admin_home_link() -> str:
    return absolute(reverse("wagtailadmin_home"))


def cut(value: object, limit: int = FIELD_LIMIT) -> str:
    text = " ".join(str(value or "").split())
    return Truncator(text).chars(limit)


def headline(trigger: str, threshold: int = 0) -> str:
    texts: dict[str, str] = {
        Trigger.NEW_LEAD: _("New lead"),
        Trigger.ASSIGNED: _("A lead was assigned to you"),
        Trigger.STATUS_CHANGED: _("Lead status changed"),
        Trigger.SLA_UNASSIGNED: _("Lead unassigned for %(count)s minutes") % {"count": threshold},
        Trigger.SLA_NOT_CONTACTED: _("Lead not contacted %(count)s hours after assignment")
        % {"count": threshold},
        Trigger.STALE: _("Lead without activity for %(count)s days") % {"count": threshold},
        Trigger.INTEGRATION_FAILED: _("An integration is failing"),
        Trigger.FLAGGED_UPSTREAM: _("Your lead was marked spam or trash on its website"),
        Trigger.MESSAGE_RECEIVED: _("Your lead sent a message"),
    }
    return texts.get(trigger, _("Lead alert"))


def lead_values(lead: Lead, threshold: int = 0) -> dict[str, str]:
    """The placeholders a rule's message may use, already cut to length."""
    return {
        "contact_name": cut(lead.contact_name),
        "company": cut(lead.company),
        "brand": cut(lead.brand),
        "service": cut(lead.service or lead.service_text),
        "source": cut(lead.source or ""),
        "status": cut(lead.status.display_label),
        "priority": cut(lead.get_priority_display()),
        "assignee": cut(lead.assignee.get_full_name() or lead.assignee.get_username())
        if lead.assignee
        else "",
        "message": cut(lead.message, MESSAGE_LIMIT),
        "link": lead_link(lead.pk),
        "threshold": str(threshold),
    }


def due_text(due_at: datetime) -> tuple[str, bool]:
    """A due time in the local time zone and the active language's format: the time alone when it is
    today (second value True), else the date and time."""
    local = timezone.localtime(due_at)
    if local.date() == timezone.localdate():
        return formats.time_format(local, "TIME_FORMAT"), True
    return formats.date_format(local, "SHORT_DATETIME_FORMAT"), False


def task_values(context: dict[str, Any]) -> dict[str, str]:
    """The placeholders of a follow-up reminder: the task's kind, due time and note."""
    due_at = parse_datetime(str(context.get("due_at") or ""))
    kind = str(context.get("kind") or "")
    label = FollowUp.Kind(kind).label if kind in FollowUp.Kind.values else kind
    return {
        "task": cut(label),
        "due": due_text(due_at)[0] if due_at else "",
        "note": cut(context.get("note"), MESSAGE_LIMIT),
    }


def reminder_headline(trigger: str, context: dict[str, Any]) -> str:
    due_at = parse_datetime(str(context.get("due_at") or ""))
    if due_at is None:
        return _("Follow-up reminder")
    when, today = due_text(due_at)
    if trigger == Trigger.FOLLOW_UP_OVERDUE:
        if today:
            return _("Follow-up overdue since %(time)s") % {"time": when}
        return _("Follow-up overdue since %(date)s") % {"date": when}
    if today:
        return _("Follow-up due at %(time)s") % {"time": when}
    return _("Follow-up due on %(date)s") % {"date": when}


def reminder_summary(values: dict[str, str], lead_pk: int) -> str:
    """What a reminder is about in one line: the task, the lead's name and company, the note's start."""
    note = cut(values["note"], NOTE_EXCERPT)
    parts = (
        values["task"],
        values["contact_name"] or f"#{lead_pk}",
        values["company"],
        f"“{note}”" if note else "",
    )
    return cut(" · ".join(part for part in parts if part), MESSAGE_LIMIT)


def fill(template_text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template_text)


@cache
def _template(name: str) -> Any:
    return get_template(name)


class Message:
    """One alert's content for one language."""

    def __init__(self, notification: Notification, language: str):
        self.notification = notification
        self.language = language
        rule = notification.rule
        threshold = notification.context.get("threshold", rule.threshold)
        with speaking(language):
            self.headline = headline(notification.trigger, threshold)
            lead = notification.lead
            if lead is not None and notification.trigger in REMINDER_TRIGGERS:
                self.headline = reminder_headline(notification.trigger, notification.context)
                self.values = {**lead_values(lead, threshold), **task_values(notification.context)}
                self.link = self.values["link"]
                self.summary = reminder_summary(self.values, lead.pk)
            elif lead is not None:
                self.values = lead_values(lead, threshold)
                self.link = self.values["link"]
                self.summary = cut(
                    " · ".join(
                        part
                        for part in (
                            self.values["contact_name"],
                            self.values["company"],
                            self.values["brand"],
                            self.values["service"],
                        )
                        if part
                    )
                    or f"#{lead.pk}"
                )
            else:
                context = notification.context
                self.values = {
                    "name": cut(context.get("name")),
                    "error": cut(context.get("error"), MESSAGE_LIMIT),
                    "link": absolute(context.get("admin_url", "")),
                }
                self.link = self.values["link"]
                self.summary = cut(f"{self.values['name']}: {self.values['error']}", MESSAGE_LIMIT)
            custom = rule.message_es if language == "es" else rule.message_en
            self.custom = cut(fill(custom, self.values), 1000) if custom else ""
            self.subject = cut(f"{self.headline}: {self.summary}", 150)
        self._rendered: dict[str, str] = {}
        self.context = {
            "headline": self.headline,
            "summary": self.summary,
            "custom": self.custom,
            "values": self.values,
            "link": self.link,
            "lead": lead,
            "trigger": notification.trigger,
        }

    def render(self, name: str) -> str:
        """A template rendered with this alert's content, once per message (its rows share it)."""
        text = self._rendered.get(name)
        if text is None:
            with speaking(self.language):
                text = self._rendered[name] = _template(name).render(self.context)
        return text


class Digest:
    """A day's held alerts for one recipient."""

    def __init__(self, notifications: Sequence[Notification], language: str):
        self.language = language
        with speaking(language):
            self.items = [Message(notification, language) for notification in notifications]
            self.count = len(self.items)
            self.headline = _("Your daily lead digest: %(count)s alerts") % {"count": self.count}
        self.subject = self.headline
        self.context = {"headline": self.headline, "items": self.items}

    def render(self, name: str) -> str:
        with speaking(self.language):
            return _template(name).render(self.context)
