"""A rep's working loop in Chromium, on a desktop and on a 390 px phone: open a new lead from My day, use
its WhatsApp action (the E.164 number and the brand's filled template), log the attempt, schedule a
follow-up, receive its reminder at the fake SMTP and WhatsApp servers, follow the reminder's link, and
mark the task done from My day."""

import datetime
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alerts import rules
from alerts import services as alert_services
from crm import intake, services
from crm.models import FollowUp, LeadEvent
from tests.alerts_support import *  # noqa: F403 - fake SMTP and WhatsApp servers
from tests.alerts_support import run_jobs
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST

REP_WHATSAPP = "+5491144440000"
LEAD_PHONE = "+54 9 11 5555-1234"
LEAD_DIGITS = "5491155551234"
LINK = re.compile(r"https?://[^\s\"<>]+")
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def rep(employee):
    employee.first_name, employee.last_name = "Eva", "Vendedora"
    employee.email, employee.whatsapp = "eva@intralog.test", REP_WHATSAPP
    employee.save()
    return employee


@pytest.fixture
def lead(brands, manager, rep):
    lead = intake.create_lead(
        intake.LeadData(
            brand=brands["intralog"],
            contact_name="Rosa Quiroga",
            company="Depósitos Quiroga",
            phone=LEAD_PHONE,
            email="rosa@quiroga.test",
        )
    )
    return services.assign(lead, rep, manager)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_rep_works_a_lead_from_my_day_to_done(viewport, alerts_env, sign_in, rep, lead, live_server):
    rules.invalidate()
    page = sign_in(rep.username, PASSWORD)
    page.set_viewport_size(viewport)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    waiting = page.locator(".crm-my-day [data-bucket=waiting]")
    expect(waiting).to_contain_text("Rosa Quiroga")
    assert page.evaluate(SIDEWAYS) <= 0
    waiting.get_by_role("link", name=re.compile("Rosa Quiroga")).click()
    expect(page).to_have_url(re.compile(rf"/admin/leads/inspect/{lead.pk}/$"))

    whatsapp = page.locator('.crm-contact__button[data-crm-contact="whatsapp"]')
    expect(whatsapp).to_be_in_viewport()
    href = whatsapp.get_attribute("href")
    parts = urlsplit(href)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", f"/{LEAD_DIGITS}")
    message = unquote(parse_qs(parts.query)["text"][0])
    assert "Rosa" in message and "Eva" in message and "{" not in message
    # The link leaves for WhatsApp; here the page stays and offers to log the attempt.
    page.evaluate(
        "document.querySelectorAll('[data-crm-contact]').forEach("
        "link => link.addEventListener('click', event => event.preventDefault()))"
    )
    whatsapp.click()
    prompt = page.locator("[data-crm-contact-prompt]")
    expect(prompt).to_be_visible()
    prompt.get_by_role("button", name="Left a message").click()
    expect(page.locator(".messages")).to_contain_text("Contact attempt logged")
    attempt = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CONTACT_ATTEMPT).get()
    assert (attempt.channel, attempt.outcome, attempt.actor_id) == ("whatsapp", "left_message", rep.pk)
    lead.refresh_from_db()
    assert lead.first_contacted_at is not None

    page.locator(".crm-follow-ups__schedule").click()
    due = timezone.localtime(timezone.now() + datetime.timedelta(minutes=10))
    page.locator("select[name=kind]").select_option("whatsapp")
    page.locator("input[name=due_at]").fill(due.strftime("%Y-%m-%d %H:%M"))
    page.locator("textarea[name=note]").fill("Mandar precios de almacenaje")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator(".messages")).to_contain_text("Follow-up scheduled")
    task = FollowUp.objects.get(lead=lead)
    assert (task.kind, task.assignee_id, task.state) == ("whatsapp", rep.pk, "open")
    expect(page.locator('[data-fact="next-action"]')).to_contain_text("WhatsApp")

    assert alert_services.remind_follow_ups() >= 2
    run_jobs()
    emails = [m for m in alerts_env["smtp"].messages if rep.email in m["to"]]
    chats = [r for r in alerts_env["whatsapp"].requests if r["json"]["to"] == REP_WHATSAPP.lstrip("+")]
    assert len(emails) == 1 and len(chats) == 1
    text = emails[0]["message"].get_body(("plain",)).get_content()
    assert "Rosa Quiroga" in text and "Mandar precios de almacenaje" in text
    [link] = [url for url in LINK.findall(text) if "/admin/leads/inspect/" in url]
    page.goto(urlsplit(link).path)
    expect(page.locator(".crm-lead-header")).to_contain_text("Rosa Quiroga")

    page.goto("/admin/")
    row = page.locator(f".crm-my-day [data-follow-up='{task.pk}']")
    expect(row).to_contain_text("Mandar precios de almacenaje")
    shoot(page, f"workbench-my-day-{viewport['width']}")
    row.get_by_role("button", name=re.compile("Mark done")).click()
    expect(page.locator(".messages")).to_contain_text("Follow-up done")
    expect(page.locator(f".crm-my-day [data-follow-up='{task.pk}']")).to_have_count(0)
    task.refresh_from_db()
    assert task.state == FollowUp.State.DONE and task.closed_by_id == rep.pk
    assert page.evaluate(SIDEWAYS) <= 0
    assert errors == []
