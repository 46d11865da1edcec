"""In Chromium: a manager's home and sidebar search lead to their brands' leads; marketing reaches the
campaigns dashboard from the menu. At desktop width and 390 px."""

import re

import pytest
from playwright.sync_api import expect

from crm.intake import LeadData, create_lead
from crm.models import Source
from tests.browser.conftest import BROWSER_TEST
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST

WIDTHS = [1280, 390]


def open_sidebar(page, width):
    if width < 800:
        page.get_by_role("button", name="Toggle sidebar").click()


@pytest.mark.parametrize("width", WIDTHS)
def test_manager_finds_leads_from_home_and_sidebar_search(page, sign_in, brands, manager, width):
    page.set_viewport_size({"width": width, "height": 900})
    phone = Source.objects.get(key="phone")
    create_lead(
        LeadData(brand=brands["intralog"], contact_name="Rocío Pallets", company="Tarimas SA", source=phone)
    )
    create_lead(LeadData(brand=brands["intralog"], contact_name="Rocio Montes", source=phone))
    create_lead(LeadData(brand=brands["intrapal"], contact_name="Rocío Ajena", source=phone))
    sign_in(manager.username, PASSWORD)

    panel = page.locator(".crm-brand-leads")
    expect(panel).to_contain_text("Rocío Pallets")
    expect(page.locator("main")).not_to_contain_text("Rocío Ajena")

    open_sidebar(page, width)
    search = page.locator("#menu-search-q")
    search.fill("Rocío")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/leads/\?q=Roc"))
    table = page.locator("main table")
    expect(table).to_contain_text("Rocío Pallets")
    expect(table).to_contain_text("Rocio Montes")
    expect(table).not_to_contain_text("Rocío Ajena")


@pytest.mark.parametrize("width", WIDTHS)
def test_marketing_opens_the_campaigns_dashboard_from_the_menu(page, sign_in, marketer, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(marketer.username, PASSWORD)
    open_sidebar(page, width)
    page.get_by_role("link", name="Dashboards").click()
    expect(page).to_have_url(re.compile(r"/admin/dashboards/campaigns/$"))
    expect(page.locator("h1")).to_contain_text("Campaigns")
    expect(page.locator(".dashboards-tabs a")).to_have_count(1)
