"""The public site speaks the site's language (``SITE_LANGUAGE_CODE``, Spanish by default), not the
visitor's browser's; the admin keeps each user's chosen language."""

import io
import os

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from wagtail.users.models import UserProfile

from home.models import HomePage
from intralog.demo import seed_public_site
from intralog.settings import base
from tests.forms_support import make_form_page, submission

pytestmark = pytest.mark.django_db

SPANISH_CHROME = ("Acceso del personal", "Logística y pallets para la industria argentina.")
ENGLISH_CHROME = ("Staff sign-in", "Logistics and pallets for Argentine industry.")


@pytest.fixture
def spanish_site(settings):
    cache.clear()
    settings.SITE_LANGUAGE_CODE = "es-ar"
    seed_public_site(io.StringIO())
    return HomePage.objects.get()


def test_spanish_is_the_default_site_language():
    if "SITE_LANGUAGE_CODE" not in os.environ:
        assert base.SITE_LANGUAGE_CODE == "es-ar"


@pytest.mark.parametrize("accept_language", ["en-GB,en;q=0.9", "de-DE", ""])
def test_public_header_and_footer_follow_the_site_not_the_browser(client, spanish_site, accept_language):
    body = client.get("/", HTTP_ACCEPT_LANGUAGE=accept_language).content.decode()
    assert '<html lang="es-ar">' in body
    for text in SPANISH_CHROME:
        assert text in body
    for text in ENGLISH_CHROME:
        assert text not in body


def test_lead_form_messages_are_in_the_site_language(client, spanish_site, brands):
    page = make_form_page(brands["intralog"], "Contacto de prueba")
    data = submission(page)
    data["email"] = "no-es-un-mail"
    response = client.post(page.url, data, HTTP_ACCEPT_LANGUAGE="en-GB,en")
    body = response.content.decode()
    assert "Corregí los campos marcados más abajo." in body
    assert "Ingresá una dirección de email válida." in body
    assert response["Content-Language"] == "es-ar"


def test_an_english_site_stays_english_for_a_spanish_browser(client, spanish_site, settings):
    settings.SITE_LANGUAGE_CODE = "en"
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="es-AR,es").content.decode()
    assert '<html lang="en">' in body and ENGLISH_CHROME[0] in body


def test_admin_previews_render_in_the_site_language(spanish_site, admin_user):
    with translation.override("en"):
        response = spanish_site.make_preview_request()
        assert translation.get_language() == "en"
    assert SPANISH_CHROME[0] in response.content.decode()


@pytest.mark.parametrize(("preferred", "expected"), [("en", "My leads"), ("es-ar", "Mis leads")])
def test_the_admin_keeps_each_users_language(client_for, spanish_site, employee, preferred, expected):
    profile = UserProfile.get_for_user(employee)
    profile.preferred_language = preferred
    profile.save()
    client = client_for(employee)
    body = client.get(reverse("wagtailadmin_home"), HTTP_ACCEPT_LANGUAGE="de-DE").content.decode()
    assert expected in body


@pytest.mark.parametrize(("accept_language", "expected"), [("en-GB", "Sign in"), ("es-AR", "Iniciar sesión")])
def test_the_admin_sign_in_page_follows_the_browser(client, spanish_site, accept_language, expected):
    body = client.get(reverse("wagtailadmin_login"), HTTP_ACCEPT_LANGUAGE=accept_language).content.decode()
    assert expected in body
