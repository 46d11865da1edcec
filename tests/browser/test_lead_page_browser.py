"""The lead page in Chromium, on a desktop and on a rep's 390 px phone: header, contact buttons and next
action in view without sideways scrolling, large touch targets, the timeline filter, and "log this attempt"
after a contact action."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm import followups, services
from crm.intake import LeadData, create_lead
from crm.models import LeadEvent
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST

TOUCH = 44  # px: the smallest comfortable touch target

OVERFLOW = "[document.documentElement.scrollWidth, window.innerWidth]"


@pytest.fixture
def lead(brands, manager, employee):
    lead = create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name="María Fernanda Rodríguez Echeverría",
            company="Logística Integral del Sudoeste Bonaerense S.A.",
            phone="+54 9 11 5555-1234",
            email="maria.fernanda.rodriguez.echeverria@logisticaintegraldelsudoeste.com.ar",
            message="Necesitamos almacenamiento para 300 posiciones de pallet y distribución semanal. " * 3,
            utm_source="google",
            utm_campaign="invierno-2026-almacenamiento-con-un-nombre-muy-largo-sin-espacios",
        ),
        actor=manager,
    )
    services.assign(lead, employee, manager)
    services.add_note(lead, manager, "Cliente grande: priorizar")
    services.log_contact_attempt(lead, employee, "phone", "no_answer", "No atendió")
    followups.schedule_follow_up(
        lead, employee, due_at=timezone.now() + datetime.timedelta(days=1), kind="whatsapp", note="Reintentar"
    )
    return lead


def open_page(sign_in, user, lead, viewport):
    page = sign_in(user.username, PASSWORD)
    page.set_viewport_size(viewport)
    page.goto(f"/admin/leads/inspect/{lead.pk}/")
    expect(page.locator(".crm-lead-header")).to_be_visible()
    return page


def shoot_whole(page, name, viewport):
    """A screenshot of the whole page: the admin scrolls its content inside the window, so the window
    grows to the content's height for the picture."""
    height = page.evaluate("document.querySelector('main').scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": min(height + 200, 8000)})
    shoot(page, name)
    page.set_viewport_size(viewport)


def assert_in_view_and_large(page, selector):
    items = page.locator(selector)
    assert items.count() > 0, selector
    width = page.evaluate("window.innerWidth")
    for index in range(items.count()):
        item = items.nth(index)
        expect(item).to_be_visible()
        box = item.bounding_box()
        assert box["height"] >= TOUCH, (selector, index, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, index, box, width)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("role", ["admin_user", "manager", "employee"])
def test_header_and_contact_buttons_fit_with_no_sideways_scroll(request, sign_in, lead, role, viewport):
    user = request.getfixturevalue(role)
    errors = []
    page = open_page(sign_in, user, lead, viewport)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.reload()
    scroll_width, inner_width = page.evaluate(OVERFLOW)
    assert scroll_width <= inner_width
    for part in (".crm-lead-header__name", ".crm-lead-header__badges", '[data-fact="next-action"]'):
        expect(page.locator(part)).to_be_in_viewport()
    expect(page.locator('[data-fact="next-action"]')).to_contain_text("WhatsApp")
    assert_in_view_and_large(page, ".crm-contact__button")
    expect(page.locator(".crm-contact__button").first).to_be_in_viewport()
    assert_in_view_and_large(page, ".crm-moves > form .crm-move__button, .crm-moves__more > summary")
    assert_in_view_and_large(page, ".crm-follow-up__actions .button, .crm-follow-ups__schedule")
    assert_in_view_and_large(page, ".crm-timeline-filter a")
    # Opened, the folded parts fit too: other statuses with their inline questions, the system details.
    page.locator(".crm-moves__more > summary").click()
    for summary in page.locator(".crm-move--asks > summary").all():
        summary.click()
    page.locator(".crm-lead-system > summary").click()
    for action in page.locator(".crm-action > summary").all():
        action.click()
    scroll_width, inner_width = page.evaluate(OVERFLOW)
    assert scroll_width <= inner_width
    shoot_whole(page, f"lead-page-{role}-{viewport['width']}", viewport)
    assert errors == []


def test_using_a_contact_action_offers_to_log_the_attempt(sign_in, lead, employee):
    page = open_page(sign_in, employee, lead, PHONE)
    prompt = page.locator("[data-crm-contact-prompt]")
    expect(prompt).to_be_hidden()
    # The link leaves for the phone's dialler; here it stays on the page.
    page.evaluate(
        "document.querySelectorAll('[data-crm-contact]').forEach("
        "link => link.addEventListener('click', event => event.preventDefault()))"
    )
    page.locator('.crm-contact [data-crm-contact="whatsapp"]').click()
    expect(prompt).to_be_visible()
    expect(prompt).to_contain_text("WhatsApp")
    # Coming back later (a reload): still offered.
    page.reload()
    expect(prompt).to_be_visible()
    prompt.locator("input[name=note]").fill("Le dejé audio")
    prompt.get_by_role("button", name="Left a message").click()
    expect(page.locator(".messages")).to_contain_text("Contact attempt logged")
    expect(page.locator(".crm-timeline li").first).to_contain_text("Le dejé audio")
    expect(prompt).to_be_hidden()
    event = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CONTACT_ATTEMPT).latest("pk")
    assert (event.channel, event.outcome, event.actor_id) == ("whatsapp", "left_message", employee.pk)


def test_timeline_filter_works_in_place_and_without_scripts(browser, live_server, sign_in, lead, employee):
    page = open_page(sign_in, employee, lead, DESKTOP)
    url = page.url
    events = page.locator(".crm-timeline li")
    total = events.count()
    page.locator('[data-crm-kind="notes"]').click()
    expect(page.locator(".crm-timeline li:visible")).to_have_count(1)
    expect(page.locator(".crm-timeline li:visible")).to_contain_text("Cliente grande")
    assert page.url == url
    page.locator('[data-crm-kind=""]').click()
    expect(page.locator(".crm-timeline li:visible")).to_have_count(total)

    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    plain = context.new_page()
    plain.goto("/admin/login/")
    plain.fill("input[name=username]", employee.username)
    plain.fill("input[name=password]", PASSWORD)
    plain.click("button[type=submit]")
    plain.goto(f"/admin/leads/inspect/{lead.pk}/")
    expect(plain.locator(".crm-timeline li")).to_have_count(total)
    plain.locator('[data-crm-kind="contacts"]').click()
    expect(plain.locator(".crm-timeline li")).to_have_count(1)
    assert "kind=contacts" in plain.url
    context.close()
