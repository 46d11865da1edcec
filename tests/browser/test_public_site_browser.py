"""The public site in Chromium: the email box looks like the others, a too-fast submission keeps what
the visitor typed, and header and footer speak the site's language whatever the browser prefers."""

import io
import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from crm.models import Lead
from intralog.demo import seed_public_site
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.forms_support import make_form_page

pytestmark = BROWSER_TEST

BOX_STYLE = ["border-top-width", "border-top-style", "border-radius", "padding-left", "padding-top", "width"]

TYPED = {
    "input[name=nombre_y_apellido]": "Zoë Pérez",
    "input[name=razon_social]": "Pallets del Sur SRL",
    "input[name=email]": "zoe@ejemplo.com.ar",
    "input[name=telefono]": "011 4444-5555",
    "textarea[name=mensaje]": "Necesito 200 pallets por mes.",
}


def computed(page, selector):
    return page.locator(selector).evaluate(
        "(element, names) => Object.fromEntries(names.map(n => [n, getComputedStyle(element)[n]]))", BOX_STYLE
    )


@pytest.mark.parametrize(("viewport", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_email_box_is_styled_like_the_other_boxes(page, brands, viewport, size):
    cache.clear()
    form_page = make_form_page(brands["intralog"])
    page.set_viewport_size(size)
    page.goto(form_page.url)
    email = computed(page, "input[name=email]")
    assert email == computed(page, "input[name=nombre_y_apellido]")
    assert email == computed(page, "input[name=cantidad_de_pallets]")
    assert email["border-top-style"] == "solid" and email["padding-left"] != "0px"
    shoot(page, f"public-form-{viewport}")


def test_a_too_fast_submission_comes_back_with_what_the_visitor_typed(page, brands, settings):
    cache.clear()
    settings.LEAD_FORM_MIN_FILL_SECONDS = 60
    form_page = make_form_page(brands["intralog"])
    page.set_viewport_size(PHONE)
    page.goto(form_page.url)
    for selector, value in TYPED.items():
        page.fill(selector, value)
    page.select_option("select[name=me_interesa_el_servicio]", "Transporte")
    page.click("button[type=submit]")

    expect(page.get_by_role("alert")).to_contain_text("Your message was not sent yet")
    for selector, value in TYPED.items():
        expect(page.locator(selector)).to_have_value(value)
    expect(page.locator("select[name=me_interesa_el_servicio]")).to_have_value("Transporte")
    shoot(page, "public-form-too-fast-phone")
    assert not Lead.objects.exists()

    settings.LEAD_FORM_MIN_FILL_SECONDS = 0
    page.click("button[type=submit]")
    expect(page.locator(".thank-you")).to_contain_text("¡Gracias por escribirnos!")
    assert Lead.objects.get().email == "zoe@ejemplo.com.ar"


@pytest.mark.parametrize(("viewport", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_public_site_speaks_spanish_to_an_english_browser(page, db, settings, viewport, size):
    cache.clear()
    settings.SITE_LANGUAGE_CODE = "es-ar"
    seed_public_site(io.StringIO())
    page.set_viewport_size(size)
    assert page.evaluate("navigator.language") == "en-GB"
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "es-ar")
    expect(page.locator("nav")).to_have_attribute("aria-label", "Principal")
    expect(page.locator("footer")).to_contain_text("Logística y pallets para la industria argentina.")
    if viewport == "desktop":
        expect(page.locator("nav")).to_contain_text("Acceso del personal")
    shoot(page, f"public-home-{viewport}")

    page.locator("nav a[href='/admin/']").click()
    expect(page).to_have_url(re.compile("/admin/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
