"""Matching submitted text to the catalogues: the service a visitor chose, the campaign their UTMs name."""

from django.db.models import Q

from .models import Campaign, Service
from .normalise import clean_utm, fold


class ServiceCatalogue:
    """A brand's active services indexed by folded form option and name (one query, reusable)."""

    def __init__(self, brand):
        self.index = {}
        services = Service.objects.filter(brand=brand, is_active=True).order_by("pk")
        for service in services:
            for text in (service.form_option, service.name):
                key = fold(text)
                if key:
                    self.index.setdefault(key, service)

    def match(self, text):
        key = fold(text)
        return self.index.get(key) if key else None


def match_service(brand, text):
    """The brand's active Service whose form option or name equals ``text`` (case/accents ignored), or None."""
    if not brand or not fold(text):
        return None
    return ServiceCatalogue(brand).match(text)


class CampaignRules:
    """Active campaigns of a brand (or brand-less), ready to match UTM values without further queries."""

    def __init__(self, brand):
        campaigns = Campaign.objects.filter(is_active=True).filter(
            Q(brand__isnull=True) | Q(brand=brand) if brand else Q(brand__isnull=True)
        )
        self.rules = []
        for campaign in campaigns.order_by("-starts_on", "-pk"):
            rule = (
                clean_utm(campaign.utm_source),
                clean_utm(campaign.utm_medium),
                clean_utm(campaign.utm_campaign),
            )
            specificity = sum(1 for part in rule if part)
            if specificity:
                self.rules.append((specificity, 1 if campaign.brand_id else 0, campaign, rule))
        self.rules.sort(key=lambda item: (-item[0], -item[1]))

    def match(self, utm_source, utm_medium, utm_campaign):
        values = (clean_utm(utm_source), clean_utm(utm_medium), clean_utm(utm_campaign))
        if not any(values):
            return None
        for _specificity, _branded, campaign, rule in self.rules:
            if all(
                not wanted or fold(wanted) == fold(value) for wanted, value in zip(rule, values, strict=True)
            ):
                return campaign
        return None


def match_campaign(brand, utm_source, utm_medium, utm_campaign):
    """The active Campaign whose UTM rules all match (a blank rule matches anything), or None.

    The most specific campaign wins (most rules filled in), then one of the lead's brand over a brand-less one,
    then the latest to start.
    """
    return CampaignRules(brand).match(utm_source, utm_medium, utm_campaign)
