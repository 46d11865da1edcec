"""A visitor fills a lead form page in Chromium: a field error first, then the thank-you text."""

import re

from django.core.cache import cache
from playwright.sync_api import expect

from crm.models import Lead
from forms_builder.models import SubmissionBehaviour
from tests.browser.conftest import BROWSER_TEST
from tests.forms_support import make_form_page

pytestmark = BROWSER_TEST


def test_visitor_fills_the_form_and_sees_the_thank_you_text(page, brands, settings):
    settings.LEAD_FORM_MIN_FILL_SECONDS = 1
    cache.clear()
    form_page = make_form_page(brands["intralog"])
    page.goto("/?utm_source=newsletter&utm_medium=email&utm_campaign=primavera")
    stylesheet = page.request.get("/static/vendor/w3css/w3.css")
    assert stylesheet.ok
    page.goto(form_page.url)
    expect(page.locator("h1")).to_contain_text("Contacto INTRALOG")
    expect(page.locator("input[name=website]")).not_to_be_in_viewport()

    page.fill("input[name=nombre_y_apellido]", "Zoë <b>Pérez</b>")
    page.fill("input[name=razon_social]", "Pallets del Sur SRL")
    page.fill("input[name=email]", "zoe@ejemplo")
    page.fill("input[name=telefono]", "011 4444-5555")
    page.select_option("select[name=me_interesa_el_servicio]", "Transporte")
    page.fill("textarea[name=mensaje]", "Hola 👋")
    page.wait_for_timeout(1100)
    page.click("button[type=submit]")
    expect(page.locator("#id_email_error")).to_contain_text("valid email")
    expect(page.locator("input[name=nombre_y_apellido]")).to_have_value("Zoë <b>Pérez</b>")

    page.fill("input[name=email]", "zoe@ejemplo.com.ar")
    page.click("button[type=submit]")
    expect(page.locator(".thank-you")).to_contain_text("¡Gracias por escribirnos!")
    expect(page).to_have_title(re.compile("Contacto INTRALOG"))

    lead = Lead.objects.get()
    assert (lead.contact_name, lead.email, lead.utm_campaign) == (
        "Zoë <b>Pérez</b>",
        "zoe@ejemplo.com.ar",
        "primavera",
    )
    behaviour = SubmissionBehaviour.objects.get()
    assert behaviour.failed_attempts == 1 and behaviour.failed_fields == ["email"]
    assert behaviour.device == "bot"  # Chromium run headless says "HeadlessChrome" in its user agent
