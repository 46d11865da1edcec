"""In Chromium, on a desktop and on a 390 px phone: a POST sent twice, as the proxy does when the app server
that had it died before answering, is carried out once (``core.once``). The route below plays that proxy:
it sends the browser's POST to the server, loses the answer, sends it again and hands that answer back."""

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from crm import services
from crm.intake import LeadData, create_lead
from crm.models import Lead, LeadEvent
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.conftest import PASSWORD
from tests.forms_support import make_form_page

pytestmark = BROWSER_TEST
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])


@pytest.fixture
def lead(brands, manager, employee):
    made = create_lead(LeadData(brand=brands["intralog"], contact_name="Doble Envío"), actor=manager)
    return services.assign(made, employee, manager)


def sent_twice(page, pattern):
    """Each POST to ``pattern`` reaches the server twice; the browser gets the second answer."""
    sent = []

    def resend(route):
        if route.request.method != "POST":
            route.continue_()
            return
        route.fetch(max_redirects=0)
        sent.append(route.request.url)
        route.fulfill(response=route.fetch(max_redirects=0))

    page.route(pattern, resend)
    return sent


@VIEWPORTS
def test_a_note_sent_again_by_the_proxy_is_added_once(sign_in, employee, lead, viewport):
    page = sign_in(employee.username, PASSWORD)
    page.set_viewport_size(viewport)
    sent = sent_twice(page, "**/admin/leads/note/**")
    page.goto(f"/admin/leads/note/{lead.pk}/")
    page.fill("textarea[name=note]", "Llamé: pide cotización de 40 posiciones")
    page.locator("main form button[type=submit]").click()

    page.wait_for_url(f"**/admin/leads/inspect/{lead.pk}/")
    expect(page.locator(".messages li", has_text="This was done already.")).to_be_visible()
    expect(page.locator("main")).to_contain_text("pide cotización de 40 posiciones")
    page.wait_for_timeout(1000)  # the message bar slides in
    shoot(page, f"once-note-sent-twice-{viewport['width']}")
    assert len(sent) == 1
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.NOTE).count() == 1


def test_a_status_move_sent_again_by_the_proxy_moves_once(sign_in, employee, lead):
    page = sign_in(employee.username, PASSWORD)
    sent_twice(page, "**/admin/leads/status/**")
    page.goto(f"/admin/leads/inspect/{lead.pk}/")
    page.locator(".crm-moves__quick button", has_text="Contacted").first.click()

    page.wait_for_url(f"**/admin/leads/inspect/{lead.pk}/")
    expect(page.locator(".crm-lead-header")).to_contain_text("Contacted")
    moves = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.STATUS_CHANGED).order_by("pk")
    assert list(moves.values_list("to_value", flat=True)) == ["assigned", "contacted"]


@VIEWPORTS
def test_a_lead_form_sent_again_by_the_proxy_makes_one_lead(page, brands, settings, viewport):
    settings.LEAD_FORM_MIN_FILL_SECONDS = 0
    cache.clear()
    form_page = make_form_page(brands["intralog"])
    page.set_viewport_size(viewport)
    sent = sent_twice(page, f"**{form_page.url}**")
    page.goto(form_page.url)
    page.fill("input[name=nombre_y_apellido]", "Ana Reenvío")
    page.fill("input[name=email]", "ana@ejemplo.com.ar")
    page.fill("input[name=telefono]", "011 4444-5555")
    page.select_option("select[name=me_interesa_el_servicio]", "Transporte")
    page.fill("textarea[name=mensaje]", "Cotización de transporte")
    page.click("button[type=submit]")

    expect(page.locator("[data-already-received]")).to_be_visible()
    shoot(page, f"once-lead-form-sent-twice-{viewport['width']}")
    assert len(sent) == 1
    assert list(Lead.objects.values_list("contact_name", flat=True)) == ["Ana Reenvío"]
