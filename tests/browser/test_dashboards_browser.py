"""The dashboards in Chromium: every chart draws, at desktop width and on a 390 px phone, and the period
control shows the period the figures are for."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import BROWSER_TEST
from tests.conftest import PASSWORD
from tests.dashboards.test_dashboards_dataset import build
from tests.dashboards.test_dashboards_money import add_money

pytestmark = BROWSER_TEST

PAGES = ["overview", "pipeline", "revenue", "team", "campaigns"]
MARCH = "period=custom&start=2026-03-01&end=2026-03-31"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

DRAWN_PIXELS = """
canvas => {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    let drawn = 0;
    for (let index = 3; index < data.length; index += 4) {
        if (data[index] !== 0) { drawn += 1; }
    }
    return { drawn, width: canvas.width, height: canvas.height };
}
"""


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_chart_draws_on_every_dashboard(viewport, sign_in, brands, manager, employee, other_employee):
    add_money(build(brands, manager, employee, other_employee), brands, manager, other_employee)
    page = sign_in(manager.username, PASSWORD)
    page.set_viewport_size(VIEWPORTS[viewport])
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    for name, currency in [(name, "ARS") for name in PAGES] + [("revenue", "USD")]:
        page.goto(f"{reverse(f'dashboards:{name}')}?{MARCH}&currency={currency}")
        canvases = page.locator("canvas[data-chart]")
        expect(canvases.first).to_be_visible()
        assert canvases.count() >= 1, name
        for index in range(canvases.count()):
            canvas = canvases.nth(index)
            chart = canvas.get_attribute("data-chart")
            canvas.scroll_into_view_if_needed()
            result = canvas.evaluate(DRAWN_PIXELS)
            assert result["width"] > 0 and result["height"] > 0, (name, chart, result)
            # Axes, labels and bars: a drawn chart colours a good share of its canvas.
            assert result["drawn"] > 500, (name, chart, result)
    assert script_errors == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_period_box_shows_the_default_period_and_apply_keeps_it(
    viewport, sign_in, brands, manager, employee, other_employee
):
    page = sign_in(manager.username, PASSWORD)
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(reverse("dashboards:overview"))
    period = page.locator("select[name=period]")
    expect(period).to_have_value("last_30")
    stated = page.locator(".dashboards-period").inner_text()

    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"period=last_30"))
    expect(period).to_have_value("last_30")
    assert page.locator(".dashboards-period").inner_text() == stated


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_employee_home_figures_are_tiles_and_overdue_leads_open(
    viewport, sign_in, brands, manager, employee, other_employee
):
    data = build(brands, manager, employee, other_employee)
    page = sign_in(employee.username, PASSWORD)
    page.set_viewport_size(VIEWPORTS[viewport])
    expect(page.get_by_role("heading", name="My leads", exact=True)).to_have_count(1)
    tiles = page.locator("[data-list=my-figures]")
    expect(tiles).to_have_css("display", "grid")
    tile = tiles.locator(".dashboards-kpi").first
    expect(tile).to_have_css("border-top-style", "solid")
    value_size = float(tile.locator("dd").evaluate("node => getComputedStyle(node).fontSize")[:-2])
    label_size = float(tile.locator("dt").evaluate("node => getComputedStyle(node).fontSize")[:-2])
    assert value_size > 1.5 * label_size

    page.locator("[data-list=overdue]").get_by_role("link", name="L2").click()
    expect(page).to_have_url(re.compile(rf"/admin/leads/inspect/{data['leads']['L2'].pk}/$"))
    page.go_back()
    page.locator("[data-table=my-status]").get_by_role("link", name="To quote").click()
    expect(page).to_have_url(re.compile(r"/admin/leads/\?assignee=mine&status=\d+$"))
    expect(page.locator("main table")).to_contain_text("L2")
    expect(page.locator("main table")).not_to_contain_text("L7")
