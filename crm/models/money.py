"""Money on the pipeline: currencies, the day's exchange rate and why leads are lost."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.languages import localised


class Currency(models.TextChoices):
    ARS = "ARS", _("Argentine pesos (ARS)")
    USD = "USD", _("US dollars (USD)")


class ExchangeRate(models.Model):
    """How many pesos one US dollar was worth on a day; reports convert with the rate of the figure's day."""

    class Origin(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        CSV = "csv", _("Imported from a CSV file")

    day = models.DateField(_("day"), unique=True)
    ars_per_usd = models.DecimalField(
        _("pesos per US dollar"),
        max_digits=14,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001"))],
    )
    origin = models.CharField(_("origin"), max_length=8, choices=Origin.choices, default=Origin.MANUAL)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")

    def __str__(self):
        return f"{self.day:%Y-%m-%d}: {self.ars_per_usd}"


class LostReason(models.Model):
    """Why a lead was lost; required when a lead moves to a lost status."""

    key = models.SlugField(_("key"), max_length=32, unique=True)
    label = models.CharField(_("label (English)"), max_length=80)
    label_es = models.CharField(_("label (Spanish)"), max_length=80)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")

    def __str__(self):
        return self.display_label

    @property
    def display_label(self):
        return localised(self.label, self.label_es)
