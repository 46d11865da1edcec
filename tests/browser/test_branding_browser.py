"""The admin speaks for this site: its name on the login page and in titles, no external avatar service
(on-premise, no internet), no Wagtail guide links, the page search only for people who edit pages,
and bulk actions that name leads. Screenshots at desktop and 390 px go to the test's tmp_path."""

import re

import pytest
from playwright.sync_api import expect

from crm.intake import LeadData, create_lead
from tests.browser.conftest import BROWSER_TEST
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST

SITE_NAME = "INTRALOG Leads Manager"
WIDTHS = (1280, 390)


def shoot(page, tmp_path, name):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=tmp_path / f"{name}-{width}.png", full_page=True)


def foreign_requests(page, live_server):
    seen = []
    page.on(
        "request",
        lambda request: (
            seen.append(request.url)
            if not request.url.startswith((live_server.url, "data:", "blob:"))
            else None
        ),
    )
    return seen


def test_login_page_names_the_site(page, tmp_path):
    page.goto("/admin/login/")
    expect(page.locator("h1")).to_have_text(f"Sign in to {SITE_NAME}")
    expect(page).to_have_title(f"Sign in - {SITE_NAME}")
    expect(page.locator("body")).not_to_contain_text("Sign in to Wagtail")
    shoot(page, tmp_path, "login")


@pytest.mark.parametrize("who", ["admin_user", "manager", "employee", "marketer"])
def test_no_image_comes_from_outside_and_none_is_broken(request, page, sign_in, live_server, tmp_path, who):
    user = request.getfixturevalue(who)
    outside = foreign_requests(page, live_server)
    sign_in(user.username, PASSWORD)
    for path in ("/admin/", "/admin/account/", "/admin/users/" if who == "admin_user" else "/admin/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        broken = page.eval_on_selector_all(
            "img",
            "images => images.filter(img => !img.complete || img.naturalWidth === 0).map(img => img.src)",
        )
        assert broken == [], path
    assert outside == []
    expect(page).to_have_title(re.compile(f"- {SITE_NAME}$"))
    shoot(page, tmp_path, f"home-{who}")


def test_salesperson_home_has_no_page_search_nor_wagtail_guide(page, sign_in, employee):
    sign_in(employee.username, PASSWORD)
    expect(page.locator("h1").first).to_have_text(SITE_NAME)
    expect(page.get_by_placeholder("Search all pages…")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("editor guide")
    assert "guide.wagtail.org" not in page.content()
    page.get_by_role("button", name="Help").click()
    expect(page.get_by_role("button", name="Shortcuts")).to_be_visible()
    expect(page.get_by_text("Editor Guide")).to_have_count(0)
    expect(page.get_by_text(re.compile("What's new in Wagtail"))).to_have_count(0)


def test_marketing_home_is_titled_with_the_site_name_and_keeps_the_page_search(page, sign_in, marketer):
    sign_in(marketer.username, PASSWORD)
    expect(page.locator("h1").first).to_have_text(SITE_NAME)
    expect(page.locator("main")).not_to_contain_text("localhost")
    expect(page.get_by_placeholder("Search all pages…")).to_have_count(1)


def test_bulk_selection_counts_leads(page, sign_in, brands, manager, tmp_path):
    for name in ("Ana Uno", "Beto Dos", "Caro Tres", "Dani Cuatro"):
        create_lead(LeadData(brand=brands["intralog"], contact_name=name))
    sign_in(manager.username, PASSWORD)
    page.goto("/admin/leads/")
    boxes = page.locator("input[data-bulk-action-checkbox]")
    for index in range(3):
        boxes.nth(index).check()
    counter = page.locator("[data-bulk-action-num-objects]")
    expect(counter).to_have_text("3 leads selected")
    shoot(page, tmp_path, "bulk")
    page.locator("[data-bulk-action-select-all-checkbox]").first.check()
    expect(counter).to_have_text("All 4 leads on this screen selected")
    expect(page.locator("body")).not_to_contain_text("snippets selected")
