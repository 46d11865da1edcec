"""The lead admin in Chromium: an employee lands on their leads, works one, and sees the timeline grow."""

import re

from playwright.sync_api import expect

from crm.intake import LeadData, create_lead
from crm.models import LeadEvent, PipelineStatus
from crm.services import assign
from tests.browser.conftest import BROWSER_TEST
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST


def test_employee_works_a_lead_from_the_dashboard(sign_in, brands, employee, manager):
    lead = create_lead(
        LeadData(brand=brands["intralog"], contact_name="Marta Gómez", company="Pallets del Sur"),
        actor=manager,
    )
    assign(lead, employee, actor=manager, note="Zona sur")
    page = sign_in(employee.username, PASSWORD)
    panel = page.locator(".crm-my-leads")
    expect(panel).to_contain_text("Marta Gómez")
    panel.get_by_role("link", name="Marta Gómez").click()
    expect(page).to_have_url(re.compile(rf"/admin/leads/inspect/{lead.pk}/$"))

    page.locator("details[data-action-name=contact] summary").click()
    form = page.locator("details[data-action-name=contact] form")
    form.locator("select[name=channel]").select_option("whatsapp")
    form.locator("select[name=outcome]").select_option("reached")
    form.locator("textarea[name=note]").fill("Pide cotización por 200 pallets")
    form.get_by_role("button").click()

    expect(page.locator(".messages")).to_contain_text("Contact attempt logged")
    expect(page.locator(".crm-timeline li").first).to_contain_text("Pide cotización por 200 pallets")
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CONTACT_ATTEMPT, actor=employee).exists()


def test_lost_status_without_reason_is_refused_in_the_page(sign_in, brands, manager):
    lead = create_lead(LeadData(brand=brands["intralog"], contact_name="Sin Motivo"), actor=manager)
    page = sign_in(manager.username, PASSWORD)
    page.goto(f"/admin/leads/status/{lead.pk}/")
    not_viable = PipelineStatus.objects.get(key="not_viable")
    page.locator("select[name=status]").select_option(str(not_viable.pk))
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("Give a reason")
    lead.refresh_from_db()
    assert lead.status.key == "pending"

    page.goto("/admin/leads/?assignee=unassigned")
    expect(page.locator("main table")).to_contain_text("Sin Motivo")


def test_the_header_search_opens_the_one_lead_that_matches(sign_in, brands, employee, manager):
    for name in ("Raúl Núñez", "Raúl Sosa"):
        assign(create_lead(LeadData(brand=brands["intralog"], contact_name=name), actor=manager), employee)
    create_lead(LeadData(brand=brands["intralog"], contact_name="Nunez Ajeno"), actor=manager)
    nunez = employee.assigned_leads.get(contact_name="Raúl Núñez")
    page = sign_in(employee.username, PASSWORD)
    search = page.locator("#menu-search-q")
    search.fill("nunez")
    search.press("Enter")
    expect(page).to_have_url(re.compile(rf"/admin/leads/inspect/{nunez.pk}/$"))
    expect(page.locator("h1").first).to_contain_text("Raúl Núñez")
