"""Dashboard settings (SLA, stale threshold) and the permission that opens the dashboards."""

from django.core.cache import cache
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
    ranking_min_leads = models.PositiveSmallIntegerField(
        _("minimum leads to rank"),
        default=5,
        validators=[MinValueValidator(1)],
        help_text=_("Campaign rows with fewer leads are not marked best or worst."),
    )

    class Meta:
        verbose_name = _("dashboard settings")
        verbose_name_plural = _("dashboard settings")
        permissions = [("view_dashboards", _("Can view the management dashboards"))]

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
