"""Contact templates (the lead page's WhatsApp and email messages): admins edit every brand's, managers
their own brands', employees none; an edit shows on the lead page."""

import pytest
from django.urls import reverse

from crm import services
from crm.intake import LeadData, create_lead
from crm.models import ContactTemplate

pytestmark = pytest.mark.django_db


def url(name, template=None):
    return reverse(ContactTemplate.snippet_viewset.get_url_name(name), args=[template.pk] if template else [])


def template_of(brands, brand):
    return ContactTemplate.objects.get(brand=brands[brand], channel="whatsapp", language="es")


def form(template, **changes):
    values = {
        "brand": template.brand_id,
        "channel": template.channel,
        "language": template.language,
        "subject": template.subject,
        "body": template.body,
    }
    return {**values, **changes}


def test_a_manager_edits_their_brand_s_templates_only(brands, manager, client_for):
    client = client_for(manager)
    listing = client.get(url("list"))
    assert listing.status_code == 200
    mine, theirs = template_of(brands, "intralog"), template_of(brands, "intrapal")
    assert url("edit", mine) in listing.content.decode()
    assert url("edit", theirs) not in listing.content.decode()

    response = client.post(url("edit", mine), form(mine, body="Hola {name}, soy {rep}."))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.body == "Hola {name}, soy {rep}."

    response = client.post(url("edit", theirs), form(theirs, body="Forjado"))
    assert response.status_code in (302, 403, 404)
    theirs.refresh_from_db()
    assert theirs.body != "Forjado"


def test_unknown_placeholders_are_a_form_error(brands, manager, client_for):
    template = template_of(brands, "intralog")
    response = client_for(manager).post(url("edit", template), form(template, body="Hola {nombre}"))
    assert response.status_code == 200
    assert "Unknown placeholders: {nombre}" in response.content.decode()
    template.refresh_from_db()
    assert "{nombre}" not in template.body


def test_one_template_per_brand_channel_and_language(brands, admin_user, client_for):
    template = template_of(brands, "intralog")
    response = client_for(admin_user).post(url("add"), form(template))
    assert response.status_code == 200
    assert (
        ContactTemplate.objects.filter(brand=template.brand, channel="whatsapp", language="es").count() == 1
    )


def test_employees_and_marketing_have_no_access(brands, employee, marketer, client_for):
    template = template_of(brands, "intralog")
    for person in (employee, marketer):
        client = client_for(person)
        for response in (client.get(url("list")), client.get(url("edit", template))):
            assert response.status_code in (302, 403), response.status_code
        client.post(url("edit", template), form(template, body="Forjado"))
        template.refresh_from_db()
        assert template.body != "Forjado"


def test_an_edited_template_is_what_the_lead_page_sends(brands, manager, employee, client_for, settings):
    settings.SITE_LANGUAGE_CODE = "es-ar"
    lead = create_lead(LeadData(brand=brands["intralog"], contact_name="Ana", phone="+54 9 11 5555-1234"))
    services.assign(lead, employee, manager)
    ContactTemplate.objects.filter(pk=template_of(brands, "intralog").pk).update(body="Buen día {name}")
    html = client_for(employee).get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    assert "https://wa.me/5491155551234?text=Buen%20d%C3%ADa%20Ana" in html
