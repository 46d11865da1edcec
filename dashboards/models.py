"""Dashboard settings (SLA, stale threshold), the permission that opens the dashboards, and the
rollup of what people did per day that the team figures read."""

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting


@register_setting(icon="cog")
class DashboardSettings(BaseGenericSetting):
    """Thresholds the dashboards measure against; admins and managers tune them."""

    sla_hours = models.PositiveSmallIntegerField(
        _("first-contact SLA (hours)"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text=_("A lead should be contacted within this many hours of being assigned."),
    )
    stale_days = models.PositiveSmallIntegerField(
        _("stale after (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("An open lead with no activity for this many days counts as stale."),
    )
    sla_business_hours = models.BooleanField(
        _("count only business hours"),
        default=False,
        help_text=_(
            "Measure the first-contact SLA in business hours: Monday to Friday, between the opening and "
            "closing hours below (the site's time zone)."
        ),
    )
    business_day_start = models.PositiveSmallIntegerField(
        _("business day opens at (hour)"), default=9, validators=[MaxValueValidator(23)]
    )
    business_day_end = models.PositiveSmallIntegerField(
        _("business day closes at (hour)"),
        default=18,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
    )
    ranking_min_leads = models.PositiveSmallIntegerField(
        _("minimum leads to rank"),
        default=5,
        validators=[MinValueValidator(1)],
        help_text=_("Campaign rows with fewer leads are not marked best or worst."),
    )

    class Meta:
        verbose_name = _("dashboard settings")
        verbose_name_plural = _("dashboard settings")
        permissions = [
            ("view_dashboards", _("Can view the management dashboards")),
            ("view_campaign_dashboard", _("Can view the campaigns dashboard")),
        ]

    def clean(self):
        start, end = self.business_day_start, self.business_day_end
        if start is not None and end is not None and end <= start:
            raise ValidationError({"business_day_end": _("The business day must close after it opens.")})

    @staticmethod
    def cache_key():
        """Per database, so processes sharing one cache with different databases never mix them."""
        return f"dashboards:settings:{connection.settings_dict['NAME']}"

    @classmethod
    def current(cls):
        """The settings, from the cache when they are there (saving clears it)."""
        settings = cache.get(cls.cache_key())
        if settings is None:
            settings = cls.load()
            cache.set(cls.cache_key(), settings, 300)
        return settings

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        cache.delete(self.cache_key())


class PersonDay(models.Model):
    """What people did on leads, per local day, person and the lead's current brand, service, source,
    campaign and status (0 stands for none). Kept by ``dashboards.rollup`` from the lead events.

    ``activity`` counts events; ``contacted`` the person's first contact attempt on a lead;
    ``first_contacts`` the lead's first contact attempt by anyone; ``quoted`` and ``won`` the first time
    a lead reached the quoted status or a won-stage status. Events without a person are not counted.
    """

    day = models.DateField()
    person_id = models.BigIntegerField()
    brand_id = models.BigIntegerField()
    service_id = models.BigIntegerField(default=0)
    source_id = models.BigIntegerField(default=0)
    campaign_id = models.BigIntegerField(default=0)
    status_id = models.BigIntegerField()
    activity = models.IntegerField(default=0)
    contacted = models.IntegerField(default=0)
    first_contacts = models.IntegerField(default=0)
    quoted = models.IntegerField(default=0)
    won = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "person_id",
                    "brand_id",
                    "service_id",
                    "source_id",
                    "campaign_id",
                    "status_id",
                ],
                name="dashboards_personday_key",
            )
        ]

    def __str__(self):
        return f"{self.day} · {self.person_id}"


class PersonBrandDay(models.Model):
    """``PersonDay`` summed per day, person and brand: what the team page reads when no filter names a
    service, source, campaign or status (a few dozen rows a day instead of thousands). Kept by
    ``dashboards.rollup`` in the same statements as ``PersonDay``."""

    day = models.DateField()
    person_id = models.BigIntegerField()
    brand_id = models.BigIntegerField()
    activity = models.IntegerField(default=0)
    contacted = models.IntegerField(default=0)
    first_contacts = models.IntegerField(default=0)
    quoted = models.IntegerField(default=0)
    won = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "person_id", "brand_id"], name="dashboards_personbrandday_key"
            )
        ]

    def __str__(self):
        return f"{self.day} · {self.person_id} · {self.brand_id}"
