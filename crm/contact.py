"""The lead page's contact actions: a call, a WhatsApp click-to-chat and an email, the messages written from
the brand's templates (``crm.models.ContactTemplate``) in the lead's language.

Nothing here sends anything: the links open the rep's phone, WhatsApp or mail program. Logging the
attempt afterwards goes through ``crm.services.log_contact_attempt`` like any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from .models import ContactTemplate, Lead, LeadEvent, User
from .models.contact import PLACEHOLDER_PATTERN
from .normalise import is_mobile

LANGUAGES = tuple(ContactTemplate.Language.values)
LANGUAGE_KEYS = ("language", "lang", "idioma", "locale")
"""Keys of a submission's extra fields or raw payload that may say the contact's language."""

SERVICE_FALLBACK = {"es": "nuestros servicios", "en": "our services"}
"""What ``{service}`` reads for a lead that names no service, in the template's language."""

_SPACE_BEFORE_PUNCTUATION = re.compile(r"[^\S\n]+([,.;:!?])")
_DOUBLE_SPACES = re.compile(r"[^\S\n]{2,}")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIALLABLE = re.compile(r"[^\d+]")


@dataclass(frozen=True)
class ContactAction:
    """One way to reach the lead: ``channel`` is the contact attempt's channel it logs as."""

    channel: str
    label: StrOrPromise
    url: str
    icon: str
    language: str = ""
    new_window: bool = False


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{placeholder}`` of ``values`` replaced; never raises.

    A placeholder ``values`` does not name is left as written, braces and all; one with an empty value
    disappears, and the space it leaves before punctuation ("Hola , …") goes with it.
    """

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(values[key]) if key in values else match.group(0)

    filled = PLACEHOLDER_PATTERN.sub(replace, text or "")
    return _DOUBLE_SPACES.sub(" ", _SPACE_BEFORE_PUNCTUATION.sub(r"\1", filled)).strip()


def lead_language(lead: Lead) -> str:
    """The language to write to the lead in: the one its submission gave, else the public site's."""
    for answers in (lead.extra, lead.raw_payload):
        if not isinstance(answers, dict):
            continue
        for key in LANGUAGE_KEYS:
            value = answers.get(key)
            if isinstance(value, str) and value.strip()[:2].lower() in LANGUAGES:
                return value.strip()[:2].lower()
    site = (getattr(settings, "SITE_LANGUAGE_CODE", "") or "es")[:2].lower()
    return site if site in LANGUAGES else "es"


def placeholder_values(lead: Lead, sender: User, language: str) -> dict[str, str]:
    """What each placeholder reads for ``lead`` written to by ``sender``."""
    service = lead.service.name if lead.service_id and lead.service else lead.service_text
    return {
        "name": lead.contact_name,
        "company": lead.company,
        "service": service or SERVICE_FALLBACK.get(language, ""),
        "brand": lead.brand.name if lead.brand_id else "",
        "rep": sender.get_full_name().strip() or sender.get_username(),
    }


def brand_templates(lead: Lead) -> list[ContactTemplate]:
    """The lead's brand's message templates, read once per lead object (the lead page's contact buttons
    and the email composer of the conversation panel share them)."""
    cached: list[ContactTemplate] | None = getattr(lead, "_brand_contact_templates", None)
    if cached is None:
        cached = list(ContactTemplate.objects.filter(brand_id=lead.brand_id))
        lead._brand_contact_templates = cached  # type: ignore[attr-defined]
    return cached


def pick_template(
    templates: Iterable[ContactTemplate], channel: str, language: str
) -> ContactTemplate | None:
    """The template of ``channel`` in ``language``; else one in another language; else None."""
    candidates = [template for template in templates if template.channel == channel]
    for template in candidates:
        if template.language == language:
            return template
    return candidates[0] if candidates else None


def whatsapp_url(e164: str, text: str) -> str:
    """WhatsApp's click-to-chat link: the number's digits and the message, URL-encoded."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    return f"https://wa.me/{digits}?text={quote(text, safe='')}" if text else f"https://wa.me/{digits}"


def mailto_url(address: str, subject: str, body: str) -> str:
    query = "&".join(
        f"{name}={quote(value, safe='')}" for name, value in (("subject", subject), ("body", body)) if value
    )
    return f"mailto:{quote(address, safe='@+')}" + (f"?{query}" if query else "")


def dial_number(lead: Lead) -> str:
    """The number a phone dials: the E.164 form, else the digits as given (with a leading +)."""
    if lead.phone_e164:
        return lead.phone_e164
    digits = _DIALLABLE.sub("", lead.phone or "")
    digits = digits[:1] + digits[1:].replace("+", "")
    return digits if sum(ch.isdigit() for ch in digits) >= 6 else ""


def contact_actions(
    lead: Lead, sender: User, templates: Iterable[ContactTemplate], language: str
) -> list[ContactAction]:
    """The ways to reach ``lead``, messages in ``language``: a call when it has a phone, WhatsApp when that
    phone is a mobile, an email when it has an address. None of them when it has nothing to reach."""
    templates = list(templates)
    values = placeholder_values(lead, sender, language)
    actions = []
    number = dial_number(lead)
    if number:
        actions.append(ContactAction(LeadEvent.Channel.PHONE, _("Call"), f"tel:{number}", "mobile-alt"))
    if lead.phone_e164 and is_mobile(lead.phone_e164):
        template = pick_template(templates, ContactTemplate.Channel.WHATSAPP, language)
        text = fill(template.body, values) if template else ""
        actions.append(
            ContactAction(
                LeadEvent.Channel.WHATSAPP,
                _("WhatsApp"),
                whatsapp_url(lead.phone_e164, text),
                "comment",
                template.language if template else "",
                new_window=True,
            )
        )
    if lead.email and _EMAIL.match(lead.email):
        template = pick_template(templates, ContactTemplate.Channel.EMAIL, language)
        subject = fill(template.subject, values) if template else ""
        body = fill(template.body, values) if template else ""
        actions.append(
            ContactAction(
                LeadEvent.Channel.EMAIL,
                _("Email"),
                mailto_url(lead.email, subject, body),
                "mail",
                template.language if template else "",
            )
        )
    return actions


def other_language(language: str) -> str:
    return next((code for code in LANGUAGES if code != language), language)


def contact_context(lead: Lead, sender: User, templates: Iterable[ContactTemplate]) -> dict[str, Any]:
    """The lead page's contact block: the actions in the lead's language and the messages in the other."""
    templates = list(templates)
    language = lead_language(lead)
    actions = contact_actions(lead, sender, templates, language)
    other = other_language(language)
    alternates = [
        action
        for action in contact_actions(lead, sender, templates, other)
        if action.channel != LeadEvent.Channel.PHONE and action.language == other
    ]
    return {
        "actions": actions,
        "language": language,
        "alternates": alternates,
        "alternate_language": ContactTemplate.Language(other).label if alternates else "",
    }
