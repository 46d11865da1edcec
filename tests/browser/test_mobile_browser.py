"""At 390 px: the lead listing shows each lead's name, company, status and age within the screen, for an
employee (in Spanish) and a manager, and the public site's menu button opens and closes the menu, by mouse
and keyboard, with the menu left open when there is no JavaScript. At 1280 px both keep every column."""

import io
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect
from wagtail.users.models import UserProfile

from crm.intake import LeadData, create_lead
from crm.services import assign, change_status
from intralog.demo import seed_public_site
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST

# name, company, status, days since submitted: long names and companies, the longest status labels,
# ages in minutes and in years and months.
LEADS = [
    ("Marta Gómez de la Santísima Trinidad", "Pallets del Sur Sociedad Anónima Industrial", None, 0),
    ("Juan Pérez", "Acme Logística Integral del Litoral SRL", "interested", 45),
    ("Zoë Fernández Etcheverry", "Depósitos Fiscales Rioplatenses", "not_advanced", 400),
    ("Bo", "Ta", "contacted", 3),
]
MENU = re.compile("^Men[uú]$")  # "Menú" once the catalogue has it
WIDE_HEADINGS = {"en": ["Brand", "Assignee", "Source / campaign"], "es": ["Marca", "Responsable"]}


def in_spanish(user):
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "es-ar"
    profile.save()
    return user


def make_leads(brands, employee, manager):
    now = timezone.now()
    for name, company, key, days in LEADS:
        data = LeadData(
            brand=brands["intralog"],
            contact_name=name,
            company=company,
            email=f"{name.split()[0].lower()}@{company.split()[0].lower()}.com.ar",
            phone="+54 9 11 4444-5555",
            submitted_at=now - timedelta(days=days, minutes=5),
        )
        lead = assign(create_lead(data, actor=manager), employee, actor=manager)
        if key:
            change_status(lead, key, manager, note="set up", lost_reason="other")


def page_width(page):
    return page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")


def inside_screen(locator, width):
    box = locator.bounding_box()
    assert box is not None and box["width"] > 0, locator
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (locator, box)


@pytest.mark.parametrize("role", ["employee", "manager"])
def test_at_390_px_the_listing_shows_name_company_status_and_age(sign_in, brands, employee, manager, role):
    make_leads(brands, employee, manager)
    person = in_spanish(employee) if role == "employee" else manager
    page = sign_in(person.username, PASSWORD)
    page.set_viewport_size(PHONE)
    page.goto("/admin/leads/")
    rows = page.locator("main table.listing tbody tr")
    expect(rows).to_have_count(len(LEADS))

    width, viewport = page_width(page)
    assert width <= viewport == PHONE["width"]
    table = page.locator("main table.listing")
    assert table.evaluate("el => el.getBoundingClientRect().right") <= PHONE["width"]
    for name, company, _key, _days in LEADS:
        row = rows.filter(has_text=name)
        for cell in (
            row.get_by_role("link", name=name, exact=True),
            row.locator(".crm-lead-title__company"),
            row.locator(".crm-status-badge"),
            row.locator("td").last,
        ):
            expect(cell).to_be_visible()
            inside_screen(cell, PHONE["width"])
        expect(row.locator(".crm-lead-title__company")).to_have_attribute("title", company)
    language = "es" if role == "employee" else "en"
    age = "1\xa0año" if language == "es" else "1\xa0year"
    expect(rows.filter(has_text="Zoë Fernández").locator("td").last).to_contain_text(age)
    for heading in WIDE_HEADINGS[language]:
        expect(page.locator("main table.listing thead th", has_text=heading)).to_be_hidden()
    shoot(page, f"listing-{role}-390")

    rows.first.get_by_role("link", name=LEADS[0][0]).click()
    expect(page).to_have_url(re.compile(r"/admin/leads/inspect/\d+/$"))


def test_at_1280_px_the_listing_keeps_every_column(sign_in, brands, employee, manager):
    make_leads(brands, employee, manager)
    page = sign_in(manager.username, PASSWORD)
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/leads/")
    for heading in ["Submitted", "Next action", *WIDE_HEADINGS["en"], "Status", "Age"]:
        expect(page.locator("main table.listing thead th", has_text=heading)).to_be_visible()
    shoot(page, "listing-manager-1280")


@pytest.fixture
def public_site(db, settings):
    cache.clear()
    settings.SITE_LANGUAGE_CODE = "es-ar"
    seed_public_site(io.StringIO())


def menu_links(page):
    return page.locator("#site-menu a")


def test_at_390_px_the_menu_button_opens_and_closes_the_menu(page, public_site):
    page.set_viewport_size(PHONE)
    page.goto("/")
    toggle = page.locator("nav button[data-site-menu-toggle]")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_accessible_name(MENU)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_attribute("aria-controls", "site-menu")
    expect(menu_links(page)).to_have_count(2)
    expect(menu_links(page).first).to_be_hidden()
    shoot(page, "public-menu-closed-390")

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    for index in range(2):
        expect(menu_links(page).nth(index)).to_be_visible()
        inside_screen(menu_links(page).nth(index), PHONE["width"])
    width, viewport = page_width(page)
    assert width <= viewport
    shoot(page, "public-menu-open-390")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu_links(page).first).to_be_hidden()

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(menu_links(page).first).to_be_focused()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "true")

    link = menu_links(page).last
    href = link.get_attribute("href")
    with page.expect_response(lambda response: response.url.endswith(href)) as answer:
        link.click()
    assert answer.value.status == 200
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    expect(page.locator("[data-site-menu-toggle]")).to_have_attribute("aria-expanded", "false")


def test_at_1280_px_the_menu_is_in_the_bar(page, public_site):
    page.set_viewport_size(DESKTOP)
    page.goto("/")
    expect(page.locator("[data-site-menu-toggle]")).to_be_hidden()
    expect(menu_links(page)).to_have_count(2)
    bar = page.locator("nav").bounding_box()
    for index in range(2):
        link = menu_links(page).nth(index)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["y"] + box["height"] <= bar["y"] + bar["height"]  # on the bar's one line
    shoot(page, "public-menu-1280")


def test_without_javascript_the_menu_stays_open(browser, live_server, public_site):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    try:
        page.set_viewport_size(PHONE)
        page.goto("/")
        expect(page.locator("[data-site-menu-toggle]")).to_be_hidden()
        for index in range(2):
            expect(menu_links(page).nth(index)).to_be_visible()
        shoot(page, "public-menu-no-js-390")
        response = page.goto(menu_links(page).first.get_attribute("href"))
        assert response.status == 200
    finally:
        context.close()
