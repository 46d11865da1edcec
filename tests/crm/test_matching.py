"""Service and campaign matching (used by the WordPress sync and the forms)."""

import pytest

from crm.matching import match_campaign, match_service
from crm.models import Campaign, Service


@pytest.fixture
def services(brands):
    Service.objects.filter(brand__in=brands.values()).update(is_active=False)
    storage = Service.objects.create(
        brand=brands["intralog"], name="Depósito", form_option="Almacenamiento y depósito"
    )
    pallets = Service.objects.create(
        brand=brands["intrapal"], name="Pallets nuevos", form_option="Compra de pallets"
    )
    return storage, pallets


def test_service_matches_form_option_ignoring_case_and_accents(brands, services):
    storage, pallets = services
    assert match_service(brands["intralog"], "ALMACENAMIENTO Y DEPOSITO") == storage
    assert match_service(brands["intralog"], "  almacenamiento   y depósito ") == storage
    assert match_service(brands["intrapal"], "compra de pallets") == pallets


def test_service_matches_name_too(brands, services):
    storage, _pallets = services
    assert match_service(brands["intralog"], "deposito") == storage


def test_service_of_other_brand_or_unknown_is_none(brands, services):
    assert match_service(brands["intralog"], "Compra de pallets") is None
    assert match_service(brands["intralog"], "Otro servicio") is None
    assert match_service(brands["intralog"], "") is None


def test_inactive_service_is_not_matched(brands, services):
    storage, _pallets = services
    storage.is_active = False
    storage.save()
    assert match_service(brands["intralog"], "Almacenamiento y depósito") is None


@pytest.fixture
def campaigns(brands):
    Campaign.objects.all().delete()
    google_any = Campaign.objects.create(name="Google genérico", utm_source="google")
    verano = Campaign.objects.create(
        name="Verano",
        brand=brands["intrapal"],
        utm_source="Google",
        utm_medium="cpc",
        utm_campaign="intrapal-verano",
    )
    instagram = Campaign.objects.create(
        name="IG", brand=brands["intralog"], utm_source="ig", utm_medium="social"
    )
    Campaign.objects.create(name="Sin reglas")
    return google_any, verano, instagram


def test_most_specific_campaign_wins(brands, campaigns):
    google_any, verano, _instagram = campaigns
    assert match_campaign(brands["intrapal"], "google", "CPC", " Intrapal-Verano ") == verano
    assert match_campaign(brands["intrapal"], "google", "cpc", "otra") == google_any


def test_campaign_of_another_brand_is_not_matched(brands, campaigns):
    google_any, _verano, instagram = campaigns
    assert match_campaign(brands["intralog"], "ig", "social", "") == instagram
    assert match_campaign(brands["intrapal"], "ig", "social", "") is None
    assert match_campaign(brands["intralog"], "google", "cpc", "intrapal-verano") == google_any


def test_no_utm_or_macros_match_nothing(brands, campaigns):
    assert match_campaign(brands["intralog"], "", "", "") is None
    assert match_campaign(brands["intralog"], "{source}", "", "{campaignname}") is None


def test_inactive_campaign_is_ignored(brands, campaigns):
    _google_any, _verano, instagram = campaigns
    instagram.is_active = False
    instagram.save()
    assert match_campaign(brands["intralog"], "ig", "social", "") is None
