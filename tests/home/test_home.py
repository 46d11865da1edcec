"""The public site: home page for both brands, content pages, vendored assets, demo content."""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from crm.models import Lead
from forms_builder.models import LeadFormPage
from home.models import ContentPage, HomePage
from intralog.demo import seed_public_site
from tests.forms_support import submission

VENDOR = Path(settings.BASE_DIR) / "static" / "vendor"


@pytest.fixture
def seeded(db):
    cache.clear()
    seed_public_site(io.StringIO())
    return HomePage.objects.get()


def test_vendored_assets_and_their_licences_are_in_the_tree():
    for relative in (
        "w3css/w3.css",
        "w3css/LICENSE.txt",
        "fontawesome/css/fontawesome.min.css",
        "fontawesome/css/solid.min.css",
        "fontawesome/css/brands.min.css",
        "fontawesome/webfonts/fa-solid-900.woff2",
        "fontawesome/webfonts/fa-brands-400.woff2",
        "fontawesome/LICENSE.txt",
    ):
        assert (VENDOR / relative).is_file(), relative
    for css in (VENDOR / "fontawesome" / "css").glob("*.css"):
        for url in re.findall(r"url\(([^)]+)\)", css.read_text()):
            if "v4compatibility" in url or "regular" in url:
                continue
            assert (css.parent / url.strip("'\"")).resolve().is_file(), url


@pytest.mark.django_db
def test_home_page_is_served_at_the_root_with_local_assets_only(client, seeded):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/static/vendor/w3css/w3.css" in body
    assert "/static/vendor/fontawesome/css/solid.min.css" in body
    assert not re.search(r'<(link|script)[^>]+(src|href)="(https?:)?//', body)
    assert 'name="viewport"' in body


@pytest.mark.django_db
def test_demo_home_has_hero_services_and_calls_to_action_to_both_forms(client, seeded):
    body = client.get("/").content.decode()
    assert "Logística y pallets para la industria argentina" in body
    assert "Almacenamiento y depósito" in body and "Pallets a medida" in body
    for slug in ("contacto-intralog", "contacto-intrapal"):
        assert f'href="/{slug}/"' in body
    assert [block.block_type for block in seeded.body] == [
        "hero",
        "brand_services",
        "brand_services",
        "call_to_action",
    ]


@pytest.mark.django_db
def test_demo_seed_is_idempotent_and_builds_one_form_per_brand(seeded):
    seed_public_site(io.StringIO())
    pages = {page.brand.code: page for page in LeadFormPage.objects.all()}
    assert sorted(pages) == ["intralog", "intrapal"] and LeadFormPage.objects.count() == 2
    intralog = [(f.label, f.lead_field) for f in pages["intralog"].form_fields.all()]
    intrapal = [(f.label, f.lead_field) for f in pages["intrapal"].form_fields.all()]
    assert intralog == [
        ("Nombre y apellido", "name"),
        ("Razón social", "company"),
        ("Email", "email"),
        ("Teléfono", "phone"),
        ("Ubicación", "location"),
        ("Me interesa el servicio", "service"),
        ("Mensaje", "message"),
    ]
    assert intrapal == [pair for pair in intralog if pair[1] != "company"]
    service_choices = pages["intrapal"].form_fields.get(lead_field="service").choices.splitlines()
    assert service_choices[:3] == ["Alquiler de pallets", "Compra de pallets", "Pallets a medida"]


@pytest.mark.django_db
def test_demo_intrapal_form_creates_an_intrapal_lead(client, seeded):
    page = LeadFormPage.objects.get(slug="contacto-intrapal")
    assert "Razón social" not in client.get(page.url).content.decode()
    values = {
        "nombre_y_apellido": "Ana Pérez",
        "email": "ana@example.com",
        "telefono": "+54 9 351 555-1234",
        "ubicacion": "Córdoba",
        "me_interesa_el_servicio": "Compra de pallets",
        "mensaje": "",
    }
    response = client.post(page.url, submission(page, values))
    assert "Gracias" in response.content.decode()
    lead = Lead.objects.get()
    assert lead.brand.code == "intrapal" and lead.service.name == "Compra de pallets"
    assert lead.phone_e164 == "+5493515551234"


@pytest.mark.django_db
def test_content_page_renders_its_blocks_escaped(client, seeded):
    page = ContentPage(
        title="Quiénes somos <b>",
        slug="quienes-somos",
        intro="<p>Empresa familiar.</p>",
        body=[
            {"type": "heading", "value": "Historia <script>x</script>"},
            {"type": "paragraph", "value": "<p>Desde <b>1990</b>.</p>"},
        ],
    )
    seeded.add_child(instance=page)
    response = client.get("/quienes-somos/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Historia &lt;script&gt;x&lt;/script&gt;" in body
    assert "Quiénes somos &lt;b&gt;" in body
    assert "Desde <b>1990</b>." in body


@pytest.mark.django_db
def test_the_home_page_keeps_working_without_content(client):
    response = client.get("/")
    assert response.status_code == 200
    assert HomePage.objects.get().title in response.content.decode()
