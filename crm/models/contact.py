"""Message templates of the lead page's contact actions (WhatsApp click-to-chat, email), per brand and language."""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .people import Brand

PLACEHOLDERS = ("name", "company", "service", "brand", "rep")
"""What a template may say in braces: the contact's name, their company, the service they asked about,
the brand, and the name of the person sending (the rep)."""

PLACEHOLDER_PATTERN = re.compile(r"\{(\w*)\}")


class ContactTemplate(models.Model):
    """The text a rep starts from when writing to a lead, with ``{name}``-style placeholders."""

    class Channel(models.TextChoices):
        WHATSAPP = "whatsapp", _("WhatsApp")
        EMAIL = "email", _("Email")

    class Language(models.TextChoices):
        SPANISH = "es", _("Spanish")
        ENGLISH = "en", _("English")

    brand = models.ForeignKey(
        Brand, on_delete=models.CASCADE, related_name="contact_templates", verbose_name=_("brand")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    subject = models.CharField(
        _("subject"), max_length=200, blank=True, help_text=_("For emails; WhatsApp messages have none.")
    )
    body = models.TextField(
        _("message"),
        help_text=_(
            "Placeholders: {name} (the contact), {company}, {service}, {brand} and {rep} (your name). "
            "One the lead lacks is left blank."
        ),
    )

    class Meta:
        ordering = ["brand__name", "channel", "language"]
        verbose_name = _("contact template")
        verbose_name_plural = _("contact templates")
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "channel", "language"], name="crm_contact_template_one_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.brand} · {self.get_channel_display()} · {self.get_language_display()}"

    def clean(self) -> None:
        errors = {}
        for name in ("subject", "body"):
            unknown = sorted(
                {key for key in PLACEHOLDER_PATTERN.findall(getattr(self, name)) if key not in PLACEHOLDERS}
            )
            if unknown:
                errors[name] = _("Unknown placeholders: %(names)s. Use %(known)s.") % {
                    "names": ", ".join(f"{{{key}}}" for key in unknown),
                    "known": ", ".join(f"{{{key}}}" for key in PLACEHOLDERS),
                }
        if errors:
            raise ValidationError(errors)
