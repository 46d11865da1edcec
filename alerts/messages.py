"""What an alert says, in the recipient's language: subject, text and HTML bodies, WhatsApp parameters.

Lead text is cut to a sane length here and escaped by the templates' autoescaping.
"""

import re
from functools import cache

from django.conf import settings
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from .models import Trigger

FIELD_LIMIT = 120
MESSAGE_LIMIT = 300
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def language_of(user):
    """``es`` or ``en``: the recipient's admin language (Wagtail profile), else the site default."""
    profile = getattr(user, "wagtail_userprofile", None) if _has_profile(user) else None
    language = (profile.preferred_language if profile else "") or settings.LANGUAGE_CODE
    return "es" if language.lower().startswith("es") else "en"


def _has_profile(user):
    try:
        user.wagtail_userprofile  # noqa: B018
    except Exception:  # noqa: BLE001 - no profile row yet
        return False
    return True


def whatsapp_language(language):
    return "es_AR" if language == "es" else "en"


def absolute(url):
    if not url or url.startswith(("http://", "https://")):
        return url or ""
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + url


def lead_link(lead_pk):
    """The absolute address of a lead's page in the admin, from the lead viewset's URL name."""
    from crm.viewsets.leads import lead_viewset

    return absolute(reverse(lead_viewset.get_url_name("inspect"), args=[lead_pk]))


def admin_home_link():
    return absolute(reverse("wagtailadmin_home"))


def cut(value, limit=FIELD_LIMIT):
    text = " ".join(str(value or "").split())
    return Truncator(text).chars(limit)


def headline(trigger, threshold=0):
    return {
        Trigger.NEW_LEAD: _("New lead"),
        Trigger.ASSIGNED: _("A lead was assigned to you"),
        Trigger.STATUS_CHANGED: _("Lead status changed"),
        Trigger.SLA_UNASSIGNED: _("Lead unassigned for %(count)s minutes") % {"count": threshold},
        Trigger.SLA_NOT_CONTACTED: _("Lead not contacted %(count)s hours after assignment")
        % {"count": threshold},
        Trigger.STALE: _("Lead without activity for %(count)s days") % {"count": threshold},
        Trigger.INTEGRATION_FAILED: _("An integration is failing"),
        Trigger.FLAGGED_UPSTREAM: _("Your lead was marked spam or trash on its website"),
    }.get(trigger, _("Lead alert"))


def lead_values(lead, threshold=0):
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


def fill(template_text, values):
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template_text)


@cache
def _template(name):
    return get_template(name)


class Message:
    """One alert's content for one language."""

    def __init__(self, notification, language):
        self.notification = notification
        self.language = language
        rule = notification.rule
        threshold = notification.context.get("threshold", rule.threshold)
        with translation.override(language):
            self.headline = headline(notification.trigger, threshold)
            lead = notification.lead
            if lead is not None:
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
        self.context = {
            "headline": self.headline,
            "summary": self.summary,
            "custom": self.custom,
            "values": self.values,
            "link": self.link,
            "lead": lead,
            "trigger": notification.trigger,
        }

    def _render(self, name):
        with translation.override(self.language):
            return _template(name).render(self.context)

    @cached_property
    def text(self):
        return self._render("alerts/email/alert.txt")

    @cached_property
    def html(self):
        return self._render("alerts/email/alert.html")

    @cached_property
    def whatsapp_text(self):
        return self._render("alerts/whatsapp/alert.txt").strip()

    def render_email(self):
        """Render the email bodies now (in the thread that holds the database connection)."""
        return self.text, self.html

    def render_whatsapp(self):
        return self.whatsapp_text

    @property
    def whatsapp_parameters(self):
        return [self.headline, self.custom or self.summary, self.link or "-"]


class Digest:
    """A day's held alerts for one recipient."""

    def __init__(self, notifications, language):
        self.language = language
        with translation.override(language):
            self.items = [Message(notification, language) for notification in notifications]
            count = len(self.items)
            self.headline = _("Your daily lead digest: %(count)s alerts") % {"count": count}
            context = {"headline": self.headline, "items": self.items}
            self.subject = self.headline
            self.text = _template("alerts/email/digest.txt").render(context)
            self.html = _template("alerts/email/digest.html").render(context)
            self.whatsapp_text = self.text.strip()[:1000]
            self.whatsapp_parameters = [str(count), admin_home_link()]
