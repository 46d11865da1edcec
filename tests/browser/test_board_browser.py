"""The lead board in Chromium: an employee drags a lead forward (saved, on its timeline) and back (refused,
the card snaps back with the rule's message), closes one through the reason dialog, moves one with the
card's menu with and without JavaScript; at 390 px only the columns scroll sideways."""

import re

from playwright.sync_api import expect

from crm.intake import LeadData, create_lead
from crm.models import Lead, LeadEvent
from crm.services import assign, change_status
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST


def lead_for(brands, person, name, key=None, by=None):
    lead = assign(create_lead(LeadData(brand=brands["intralog"], contact_name=name)), person, actor=by)
    return change_status(lead, key, by, note="set up", lost_reason="other") if key else lead


def column(page, label):
    return page.locator(f".crm-board__column[data-status-label='{label}']")


def card(page, name):
    return page.locator("[data-card]", has=page.locator(".crm-card__name", has_text=name))


def drag(page, source, target):
    """Press, move in steps and release: SortableJS follows the mouse events (its fallback mode)."""
    start, end = source.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 12)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 8, start["y"] + 24, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + min(30, end["height"] / 2), steps=15)
    page.wait_for_timeout(150)
    page.mouse.up()


def status_of(lead):
    return Lead.objects.get(pk=lead.pk).status.key


def test_employee_drags_a_lead_forward_and_back(sign_in, brands, employee, manager):
    forward = lead_for(brands, employee, "Adela Avanza", by=manager)
    back = lead_for(brands, employee, "Bruno Retrocede", "contacted", by=manager)
    page = sign_in(employee.username, PASSWORD)
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/leads/board/")
    expect(column(page, "Assigned")).to_contain_text("Adela Avanza")
    shoot(page, "board-employee-1280")

    drag(page, card(page, "Adela Avanza"), column(page, "Contacted").locator("[data-board-list]"))
    expect(page.locator(".messages")).to_contain_text("Adela Avanza moved to Contacted")
    expect(column(page, "Contacted")).to_contain_text("Adela Avanza")
    expect(column(page, "Assigned")).not_to_contain_text("Adela Avanza")
    assert status_of(forward) == "contacted"

    drag(page, card(page, "Bruno Retrocede"), column(page, "Assigned").locator("[data-board-list]"))
    expect(page.locator(".messages")).to_contain_text("You can only move a lead forward in the pipeline.")
    expect(column(page, "Contacted")).to_contain_text("Bruno Retrocede")
    expect(column(page, "Assigned")).not_to_contain_text("Bruno Retrocede")
    assert status_of(back) == "contacted"

    card(page, "Adela Avanza").locator(".crm-card__name").click()
    expect(page).to_have_url(re.compile(rf"/admin/leads/inspect/{forward.pk}/$"))
    expect(page.locator(".crm-timeline li").first).to_contain_text("Assigned → Contacted")


def test_a_lost_drop_asks_for_the_reason(sign_in, brands, employee, manager):
    lead = lead_for(brands, employee, "Carla Cierra", by=manager)
    page = sign_in(employee.username, PASSWORD)
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/leads/board/")
    drag(page, card(page, "Carla Cierra"), page.locator(".crm-board__drop[data-status-label='Not viable']"))
    dialog = page.locator("[data-board-dialog]")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Move “Carla Cierra” to Not viable")
    shoot(page, "board-dialog-1280")
    dialog.locator("button[value=cancel]").click()
    expect(column(page, "Assigned")).to_contain_text("Carla Cierra")
    assert status_of(lead) == "assigned"

    drag(page, card(page, "Carla Cierra"), page.locator(".crm-board__drop[data-status-label='Not viable']"))
    dialog.locator("textarea[name=note]").fill("Sin presupuesto este año")
    dialog.locator("select[name=lost_reason]").select_option(label="Price")
    dialog.locator("button[value=confirm]").click()
    expect(page.locator(".messages")).to_contain_text("Carla Cierra moved to Not viable")
    expect(page.locator(".crm-board__columns")).not_to_contain_text("Carla Cierra")
    assert status_of(lead) == "not_viable"
    assert LeadEvent.objects.filter(
        lead=lead, to_value="not_viable", note="Sin presupuesto este año", data__lost_reason="price"
    ).exists()


def test_the_move_menu_works_without_dragging(sign_in, brands, employee, manager):
    lead = lead_for(brands, employee, "Dora Menu", by=manager)
    page = sign_in(employee.username, PASSWORD)
    page.goto("/admin/leads/board/")
    menu = card(page, "Dora Menu").locator(".crm-card__menu")
    menu.locator("summary").click()
    menu.locator("select[name=status]").select_option(label="Quoted")
    menu.get_by_role("button", name="Move").click()
    expect(page.locator(".messages")).to_contain_text("Dora Menu moved to Quoted")
    expect(column(page, "Quoted")).to_contain_text("Dora Menu")
    assert status_of(lead) == "quoted"


def test_the_move_menu_without_javascript(browser, live_server, brands, employee, manager):
    lead = lead_for(brands, employee, "Elsa Sinjs", by=manager)
    context = browser.new_context(base_url=live_server.url, locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/admin/login/")
        page.fill("input[name=username]", employee.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto("/admin/leads/board/")
        menu = card(page, "Elsa Sinjs").locator(".crm-card__menu")
        menu.locator("summary").click()
        menu.locator("select[name=status]").select_option(label="Contacted")
        menu.get_by_role("button", name="Move").click()
        expect(page).to_have_url(re.compile(r"/admin/leads/board/$"))
        expect(page.locator(".messages")).to_contain_text("Elsa Sinjs moved to Contacted")
        expect(column(page, "Contacted")).to_contain_text("Elsa Sinjs")
        assert status_of(lead) == "contacted"
    finally:
        context.close()


def test_at_390_px_only_the_columns_swipe(sign_in, brands, employee, manager):
    for n in range(3):
        lead_for(brands, employee, f"Movil {n}", by=manager)
    page = sign_in(manager.username, PASSWORD)
    page.set_viewport_size(PHONE)
    page.goto("/admin/leads/board/")
    expect(column(page, "Assigned")).to_contain_text("Movil 2")
    page_width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert page_width[0] <= page_width[1], page_width
    columns = page.locator(".crm-board__columns")
    scroll, client = columns.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert scroll > client  # the columns' own swipe container
    shoot(page, "board-manager-390")
    columns.evaluate("el => el.scrollTo(el.scrollWidth, 0)")
    page_width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert page_width[0] <= page_width[1], page_width


def test_a_status_that_waits_for_a_date_asks_for_it(sign_in, brands, employee, manager):
    lead = lead_for(brands, employee, "Fede Pospone", by=manager)
    page = sign_in(employee.username, PASSWORD)
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/leads/board/")
    drag(page, card(page, "Fede Pospone"), column(page, "Postponed").locator("[data-board-list]"))
    dialog = page.locator("[data-board-dialog]")
    expect(dialog.locator("input[name=follow_up_at]")).to_be_visible()
    expect(dialog.locator("textarea[name=note]")).to_be_hidden()
    dialog.locator("input[name=follow_up_at]").fill("2031-03-10T10:30")
    dialog.locator("button[value=confirm]").click()
    expect(page.locator(".messages")).to_contain_text("Fede Pospone moved to Postponed")
    expect(card(page, "Fede Pospone")).to_contain_text("Next:")
    lead.refresh_from_db()
    assert lead.status.key == "postponed" and lead.next_action_at.year == 2031
