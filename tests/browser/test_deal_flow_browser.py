"""Money on the pipeline, end to end in Chromium with two people at once: a rep quotes their lead, the
manager sees the quote in the open pipeline, the rep wins the lead and makes it a customer, the manager sees
the campaign's revenue and return on spend. At desktop width and on a 390 px phone."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from crm import services
from crm.intake import LeadData, create_lead
from crm.models import Campaign, ExchangeRate, PipelineStatus
from customers.cuit import check_digit
from tests.browser.conftest import BROWSER_TEST, sign_in_on
from tests.browser.shots import DESKTOP, PHONE
from tests.browser.test_dashboards_browser import DRAWN_PIXELS
from tests.browser.test_lead_page_browser import shoot_whole
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST

VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
RATE = Decimal("1000")
SPEND_ARS = Decimal("1200000")
CAMPAIGN = "Winter storage search"
CUIT_FIRST_TEN = "3071234567"
PAGE_WIDTH = "document.documentElement.scrollWidth"
# Wagtail's main area clips what is wider than the screen, so the page's width alone misses it: list the
# shown elements that reach past the right edge (wide tables and Wagtail's breadcrumbs scroll in their own
# wrapper and are allowed).
CLIPPED = """
edge => [...document.querySelectorAll("main *")]
    .filter(element => element.getBoundingClientRect().right > edge)
    .filter(element => element.checkVisibility({ visibilityProperty: true, opacityProperty: true }))
    .filter(element => !element.closest(".dashboards-table-wrap, [data-w-breadcrumbs]"))
    .slice(0, 5)
    .map(element => `${element.tagName}.${element.className} ${Math.round(element.getBoundingClientRect().right)}`)
"""


def valid_cuit():
    return f"{CUIT_FIRST_TEN[:2]}-{CUIT_FIRST_TEN[2:]}-{check_digit(CUIT_FIRST_TEN)}"


@pytest.fixture
def deal(brands, manager, employee):
    """A rep's open lead of a campaign that cost 1,200,000 ARS, and today's exchange rate."""
    today = timezone.localdate()
    ExchangeRate.objects.create(day=today, ars_per_usd=RATE)
    campaign = Campaign.objects.create(
        name=CAMPAIGN, brand=brands["intralog"], spend=SPEND_ARS, utm_source="google", starts_on=today
    )
    lead = create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name="Julieta Paz",
            company="Frío Austral S.R.L.",
            phone="+54 9 11 4444-2222",
            email="julieta.paz@frioaustral.com.ar",
            message="Cotización de almacenamiento refrigerado para 120 pallets.",
            utm_source="google",
            campaign=campaign,
        ),
        actor=manager,
    )
    lead = services.assign(lead, employee, manager)
    period = f"period=custom&start={today - datetime.timedelta(days=30)}&end={today}"
    return {"lead": lead, "campaign": campaign, "today": today, "period": period}


class Screens:
    """Both people's pages, their script errors and the checks every screen gets."""

    def __init__(self, viewport_name):
        self.viewport_name = viewport_name
        self.viewport = VIEWPORTS[viewport_name]
        self.script_errors = []

    def watch(self, page):
        page.set_viewport_size(self.viewport)
        page.on("pageerror", lambda error: self.script_errors.append(f"{page.url}: {error}"))
        return page

    def check(self, page, name):
        if self.viewport is PHONE:
            width = page.evaluate(PAGE_WIDTH)
            assert width <= PHONE["width"] + 1, (name, width)
            assert page.evaluate(CLIPPED, PHONE["width"] + 1) == [], name
        shoot_whole(page, f"deal-flow-{self.viewport_name}-{name}", self.viewport)


def assert_charts_drew(page):
    canvases = page.locator("canvas[data-chart]")
    expect(canvases.first).to_be_visible()
    for index in range(canvases.count()):
        canvas = canvases.nth(index)
        canvas.scroll_into_view_if_needed()
        result = canvas.evaluate(DRAWN_PIXELS)
        assert result["width"] > 0 and result["height"] > 0, (canvas.get_attribute("data-chart"), result)
        assert result["drawn"] > 500, (canvas.get_attribute("data-chart"), result)


def table_cell(page, table, row_label, column, label_column):
    """The text of ``column`` in the row of ``table`` whose ``label_column`` reads ``row_label``, or None."""
    rows = page.locator(f"table[data-table={table}] tbody tr").filter(
        has=page.locator(f"td[data-column={label_column}]", has_text=row_label)
    )
    if rows.count() == 0:
        return None
    assert rows.count() == 1, (table, row_label)
    return rows.locator(f"td[data-column={column}]").inner_text().strip()


def pipeline_values(page, deal, status_label):
    """The open pipeline value of ``status_label`` on the revenue dashboard, in dollars and in pesos."""
    values = {}
    for currency in ("USD", "ARS"):
        page.goto(f"{reverse('dashboards:revenue')}?{deal['period']}&currency={currency}")
        expect(page.locator("table[data-table=pipeline_value]")).to_be_visible()
        values[currency] = table_cell(page, "pipeline_value", status_label, "value", "status")
    return values


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_quote_shows_in_pipeline_then_won_lead_becomes_customer_and_campaign_revenue(
    viewport, browser, live_server, sign_in, deal, manager, employee
):
    screens = Screens(viewport)
    lead, today = deal["lead"], deal["today"]
    status_label = lead.status.display_label
    closes = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=15)

    rep = screens.watch(sign_in(employee.username, PASSWORD))
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    try:
        boss = screens.watch(sign_in_on(context.new_page(), manager.username, PASSWORD))

        before = pipeline_values(boss, deal, status_label)
        assert before != {"USD": "US$ 12,000.00", "ARS": "$ 12,000,000.00"}, before

        rep.goto(reverse("crm_leads:inspect", args=[lead.pk]))
        deal_section = rep.locator("[data-section=deal]")
        expect(deal_section).to_contain_text("Not quoted yet.")
        screens.check(rep, "1-lead-before-quote")
        quote = deal_section.locator("[data-deal-quote]")
        quote.locator("summary").click()
        quote.locator("input[name=amount]").fill("12000")
        quote.locator("select[name=currency]").select_option("USD")
        quote.locator("input[name=quoted_on]").fill(today.isoformat())
        quote.locator("input[name=expected_close_on]").fill(closes.isoformat())
        screens.check(rep, "2-quote-form")
        quote.get_by_role("button", name="Save the quote").click()
        expect(deal_section.locator("[data-field=quote_amount] dd")).to_have_text("US$ 12,000.00")
        expect(deal_section.locator("[data-field=quote_other] dd")).to_contain_text("12,000,000.00")
        screens.check(rep, "3-lead-quoted")

        after = pipeline_values(boss, deal, status_label)
        assert after == {"USD": "US$ 12,000.00", "ARS": "$ 12,000,000.00"}, (before, after)
        assert after != before
        assert_charts_drew(boss)
        screens.check(boss, "4-revenue-ars")

        won = PipelineStatus.objects.get(key="won")
        move = rep.locator(f"button[data-status-move='{won.pk}']")
        if not move.is_visible():
            rep.locator(".crm-moves__more > summary").click()
        move.click()
        expect(rep.locator(".crm-lead-header__badges")).to_contain_text(won.display_label)
        expect(deal_section.locator("[data-field=won_amount] dd")).to_have_text("US$ 12,000.00")
        screens.check(rep, "5-lead-won")

        rep.locator("[data-customer-convert]").click()
        form = rep.locator("form[data-customer-convert-form]")
        expect(form).to_be_visible()
        form.locator("input[name=account][value=new]").check()
        form.locator("input[name=legal_name]").fill("Frío Austral S.R.L.")
        form.locator("input[name=cuit]").fill(valid_cuit())
        form.locator("input[name=address]").fill("Av. Mitre 1234, Avellaneda, Buenos Aires")
        form.locator("input[name=contact_name]").fill("Julieta Paz")
        form.locator("input[name=contact_role]").fill("Jefa de logística")
        screens.check(rep, "6-convert-form")
        form.get_by_role("button", name="Convert to customer").click()
        account_link = rep.locator("[data-customer-account] a")
        expect(account_link).to_have_text("Frío Austral S.R.L.")
        expect(rep.locator("[data-customer-account]")).to_contain_text(valid_cuit())
        screens.check(rep, "7-lead-customer")

        account_link.click()
        expect(rep.locator("[data-won-totals] [data-won-currency=USD]")).to_have_text("US$ 12,000.00")
        account_lead = rep.locator(f"[data-account-lead='{lead.pk}']")
        expect(account_lead).to_contain_text(won.display_label)
        expect(account_lead).to_contain_text("US$ 12,000.00")
        screens.check(rep, "8-account")

        boss.goto(f"{reverse('dashboards:campaigns')}?{deal['period']}&currency=USD")
        expect(boss.locator("table[data-table=campaign]")).to_be_visible()
        assert table_cell(boss, "campaign", CAMPAIGN, "revenue", "name") == "US$ 12,000.00"
        # 12,000 USD of revenue on 1,200 USD of spend (1,200,000 ARS at 1,000 a dollar).
        assert table_cell(boss, "campaign", CAMPAIGN, "cost", "name") == "US$ 1,200.00"
        assert table_cell(boss, "campaign", CAMPAIGN, "return_on_spend", "name") == "10.00"
        assert_charts_drew(boss)
        screens.check(boss, "9-campaigns-usd")
    finally:
        context.close()
    assert screens.script_errors == []
