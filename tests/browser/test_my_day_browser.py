"""My day in Chromium, on a 1280 px screen and a 390 px phone: the employee's home shows their tasks, a
row opens the lead, "Done" takes the task off; the lead listing shows a dozen leads on a 900 px tall
screen; the manager's home shows the team's day. No sideways scrolling."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm import followups
from crm.models import FollowUp, Lead
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.conftest import PASSWORD
from tests.crm.follow_up_support import lead_for

pytestmark = BROWSER_TEST

VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
ROWS_IN_VIEW = """
() => [...document.querySelectorAll("main table.listing tbody tr")].filter(row => {
    const box = row.getBoundingClientRect();
    return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
}).length
"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def overdue_task(lead, person, note):
    """A follow-up that fell due an hour ago (planned, then moved back with the lead's next action)."""
    task = followups.schedule_follow_up(
        lead, person, due_at=timezone.now() + datetime.timedelta(hours=1), note=note
    )
    FollowUp.objects.filter(pk=task.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    Lead.objects.filter(pk=lead.pk).update(next_action_at=followups.next_action_of(lead))
    return task


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_employee_opens_a_lead_and_marks_a_task_done(viewport, sign_in, brands, employee, other_employee):
    intralog = brands["intralog"]
    call = lead_for(intralog, employee, "Marta Gómez", company="Pallets del Sur", email="marta@example.com")
    task = overdue_task(call, employee, "Llamar por la cotización de 200 pallets")
    quote = lead_for(intralog, employee, "Julián Pérez")
    second = overdue_task(quote, employee, "Mandar la propuesta")
    lead_for(intralog, employee, "Nuevo Sin Contactar")
    overdue_task(lead_for(intralog, other_employee, "De Otra Persona"), other_employee, "No es mío")

    page = sign_in(employee.username, PASSWORD)
    page.set_viewport_size(VIEWPORTS[viewport])
    panel = page.locator(".crm-my-day")
    expect(panel.get_by_role("heading", name="My day")).to_be_visible()
    overdue = panel.locator("[data-bucket=overdue]")
    expect(overdue.locator("[data-follow-up]")).to_have_count(2)
    expect(overdue).to_contain_text("Llamar por la cotización de 200 pallets")
    expect(panel.locator("[data-bucket=waiting]")).to_contain_text("Nuevo Sin Contactar")
    expect(panel).not_to_contain_text("De Otra Persona")
    assert page.evaluate(SIDEWAYS) <= 0
    shoot(page, f"my-day-employee-{viewport}")

    overdue.locator(f"[data-follow-up='{task.pk}'] a").click()
    expect(page).to_have_url(re.compile(rf"/admin/leads/inspect/{call.pk}/$"))
    expect(page.locator("main")).to_contain_text("Marta Gómez")

    page.go_back()
    row = page.locator(f".crm-my-day [data-follow-up='{task.pk}']")
    row.get_by_role("button", name="Done").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator(".messages")).to_contain_text("Follow-up done")
    expect(page.locator(f".crm-my-day [data-follow-up='{task.pk}']")).to_have_count(0)
    expect(page.locator(f".crm-my-day [data-follow-up='{second.pk}']")).to_have_count(1)
    task.refresh_from_db()
    assert task.state == FollowUp.State.DONE and task.closed_by == employee


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_managers_home_shows_the_team_day(viewport, sign_in, brands, manager, employee):
    intralog = brands["intralog"]
    late = lead_for(intralog, employee, "Sin Contactar A Tiempo")
    Lead.objects.filter(pk=late.pk).update(assigned_at=timezone.now() - datetime.timedelta(hours=9))
    overdue_task(lead_for(intralog, employee, "Con Tarea Vencida"), employee, "Llamar")
    lead_for(intralog, None, "Esperando Asignación")

    page = sign_in(manager.username, PASSWORD)
    page.set_viewport_size(VIEWPORTS[viewport])
    panel = page.locator(".dashboards-team-day")
    expect(panel.locator("[data-kpi=breached] a")).to_have_text("1")
    expect(panel.locator("[data-kpi=overdue] a")).to_have_text("1")
    expect(panel.locator(f"[data-person='{employee.pk}']")).to_be_visible()
    assert page.evaluate(SIDEWAYS) <= 0
    shoot(page, f"my-day-manager-{viewport}")

    panel.locator("[data-kpi=overdue] a").click()
    expect(page).to_have_url(re.compile(r"/admin/leads/\?.*next_action=overdue"))
    expect(page.locator("main table.listing tbody tr")).to_have_count(1)
    expect(page.locator("main table.listing")).to_contain_text("Con Tarea Vencida")
    expect(page.locator("main table.listing [data-overdue]")).to_have_count(1)


def test_the_listing_shows_a_dozen_leads_on_a_900_px_screen(sign_in, brands, employee):
    intralog = brands["intralog"]
    for index in range(16):
        lead = lead_for(
            intralog,
            employee,
            f"Persona Con Nombre Largo {index}",
            company=f"Distribuidora Mayorista del Litoral Número {index} S.R.L.",
            email=f"compras.mayoristas{index}@distribuidora-del-litoral.com.ar",
            phone=f"+54 9 341 555-{1000 + index}",
        )
        if index % 3 == 0:
            overdue_task(lead, employee, "Llamar")
    page = sign_in(employee.username, PASSWORD)
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/leads/")
    expect(page.locator("main table.listing tbody tr")).to_have_count(16)
    assert page.evaluate(ROWS_IN_VIEW) >= 12
    assert page.evaluate(SIDEWAYS) <= 0
    first = page.locator("main table.listing tbody tr").first
    expect(first.locator("a[href^='mailto:']")).to_have_count(1)
    expect(first.locator("a[href^='tel:+54']")).to_have_count(1)
    shoot(page, "lead-listing-desktop")
    page.set_viewport_size(PHONE)
    assert page.evaluate(SIDEWAYS) <= 0
    shoot(page, "lead-listing-phone")
