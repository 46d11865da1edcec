"""Saved views in Chromium: a manager filters the listing and saves it for their brand's team; an employee
of that brand opens it from the Views menu and sees only their own leads. At 1280 and 390 px."""

import re

from playwright.sync_api import expect

from crm.intake import LeadData, create_lead
from crm.models import PipelineStatus, SavedView
from crm.services import assign, change_status
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST


def lead(brands, name, person=None, by=None, key=None):
    made = create_lead(LeadData(brand=brands["intralog"], contact_name=name), actor=by)
    if person is not None:
        made = assign(made, person, actor=by)
    return change_status(made, PipelineStatus.objects.get(key=key), by) if key else made


def rows(page):
    return page.locator("main table tbody tr")


def open_views_menu(page):
    page.locator("[data-crm-views-menu] .crm-views-menu__toggle").click()
    menu = page.locator(".crm-views-menu__content")
    expect(menu).to_be_visible()
    page.locator("[data-crm-views-menu] .tippy-box[data-state=visible]").wait_for()
    page.wait_for_timeout(300)  # the menu's fade-in, for the screenshots
    return menu


def page_fits(page):
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths


def test_a_team_view_shows_each_person_their_own_leads(
    page, sign_in, brands, manager, employee, other_employee
):
    lead(brands, "Ana Propia", employee, by=manager)
    lead(brands, "Bruno Cerrado", employee, by=manager, key="won")
    lead(brands, "Carla Colega", other_employee, by=manager)
    lead(brands, "Dario Libre", by=manager)

    sign_in(manager.username, PASSWORD)
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/leads/?stage=active")
    expect(rows(page)).to_have_count(3)
    menu = open_views_menu(page)
    expect(menu).to_contain_text("Open leads, newest first")
    shoot(page, "views-menu-manager-1280")
    menu.get_by_role("link", name="Save this view…").click()

    expect(page.locator("main")).to_contain_text("New or open")
    page.fill("input[name=name]", "Abiertos del equipo")
    page.get_by_label("Brand team").check()
    expect(page.get_by_label("INTRALOG")).to_be_checked()
    shoot(page, "views-save-manager-1280")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/admin/leads/\?stage=active$"))
    expect(page.locator(".messages")).to_contain_text("View “Abiertos del equipo” saved.")
    expect(page.locator(".crm-views-menu__toggle")).to_contain_text("Abiertos del equipo")
    view = SavedView.objects.get()
    assert (view.visibility, list(view.brands.values_list("code", flat=True))) == ("brand", ["intralog"])

    page.context.clear_cookies()
    sign_in(employee.username, PASSWORD)
    page.locator("[data-wagtail-sidebar]").get_by_role("link", name="Leads", exact=True).click()
    expect(page).to_have_url(
        re.compile(r"/admin/leads/\?assignee=mine&ordering=next_action_at&stage=active$")
    )
    expect(page.locator(".crm-views-menu__toggle")).to_contain_text("My open leads by next action")
    expect(page.locator(".sidebar-menu-item--active")).to_have_text("Leads")
    page.goto("/admin/leads/")
    expect(rows(page)).to_have_count(2)  # Ana and the won Bruno: every lead of theirs
    menu = open_views_menu(page)
    expect(menu.locator(".crm-views-menu__heading").first).to_have_text("Shared with me")
    menu.get_by_role("link", name=re.compile("Abiertos del equipo")).click()
    expect(page).to_have_url(re.compile(r"/admin/leads/\?stage=active$"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Ana Propia")
    expect(page.locator("main")).not_to_contain_text("Carla Colega")
    expect(page.locator("main")).not_to_contain_text("Dario Libre")
    shoot(page, "views-employee-1280")

    page.set_viewport_size(PHONE)
    page.goto("/admin/leads/")
    menu = open_views_menu(page)
    page_fits(page)
    shoot(page, "views-menu-employee-390")
    menu.get_by_role("link", name=re.compile("Abiertos del equipo")).click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Ana Propia")
    page_fits(page)
    shoot(page, "views-employee-390")


def test_an_employee_saves_their_board_and_makes_it_their_default(page, sign_in, brands, manager, employee):
    lead(brands, "Elsa Tablero", employee, by=manager)
    sign_in(employee.username, PASSWORD)
    page.set_viewport_size(PHONE)
    page.goto("/admin/leads/board/?q=Elsa")
    menu = open_views_menu(page)
    menu.get_by_role("link", name="Save this view…").click()
    expect(page.locator("input[name=visibility]")).to_be_hidden()
    page.fill("input[name=name]", "Mi tablero")
    page.get_by_label("Open it from the Leads menu").check()
    page_fits(page)
    shoot(page, "views-save-employee-390")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/admin/leads/board/\?q=Elsa$"))

    page.goto("/admin/leads/views/")
    expect(page.locator("[data-default-view]")).to_contain_text("Mi tablero")
    page_fits(page)
    shoot(page, "views-manage-employee-390")
    page.goto("/admin/leads")
    expect(page).to_have_url(re.compile(r"/admin/leads/board/\?q=Elsa$"))
    expect(page.locator(".crm-board__columns")).to_contain_text("Elsa Tablero")
