"""The lead-field declaration (``crm.lead_fields``): today's surfaces come from it, and a field declared
once there shows in the listing, its filter and search, the export, the inspect page, and comes in by
WordPress, the lead form, the admin's new-lead form and any ``LeadData``."""

import csv
import io
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from crm import lead_fields
from crm.field_spec import (
    EVERY_PATH,
    Column,
    Export,
    FieldIndex,
    Filter,
    FormAnswer,
    LeadField,
    Search,
    WordPressAnswer,
)
from crm.intake import LeadData, create_lead
from crm.models import Lead, Source
from crm.views.leads import create_panel
from forms_builder.models import LeadFormField
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from tests.forms_support import make_form_page, submission
from wordpress.sync import sync_source

# What the listing, filters, export and inspect page showed before the declaration, in their order.
LISTING = ["contact_name", "submitted_at", "brand", "service", "status", "assignee", "source", "age"]
FILTERS = [
    "status",
    "stage",
    "assignee",
    "brand",
    "service",
    "source",
    "campaign",
    "submitted",
    "received",
    "duplicates",
    "tags",
]
EXPORT = [
    "ID",
    "Received",
    "Contact name",
    "Company",
    "Email",
    "Phone as given",
    "Phone (E.164)",
    "Location",
    "Brand",
    "Service",
    "Status",
    "Stage",
    "Assignee",
    "Source",
    "Campaign",
    "UTM source",
    "UTM medium",
    "UTM campaign",
    "Priority",
    "Tags",
    "Duplicate of",
    "First contacted",
    "Message",
]
INSPECT = [
    "id",
    "contact_name",
    "company",
    "email",
    "phone",
    "phone_e164",
    "location",
    "brand",
    "service",
    "service_text",
    "message",
    "source",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "external_source",
    "external_form",
    "external_id",
    "status",
    "assignee",
    "priority",
    "classification_reason",
    "skip_alerts",
    "created_by",
    "submitted_at",
    "received_at",
    "assigned_at",
    "first_contacted_at",
    "status_changed_at",
    "last_activity_at",
    "updated_at",
]


def in_order(names, expected):
    """``names`` with only the ``expected`` ones kept: a field added anywhere leaves it unchanged."""
    return [name for name in names if name in expected]


def test_todays_surfaces_come_from_the_declaration():
    assert in_order([field.name for field in lead_fields.listing_fields()], LISTING) == LISTING
    assert (
        in_order([field.filter.name or field.name for field in lead_fields.filter_fields()], FILTERS)
        == FILTERS
    )
    assert in_order([str(field.heading) for field in lead_fields.export_fields()], EXPORT) == EXPORT
    assert in_order(lead_fields.inspect_names(), INSPECT) == INSPECT
    assert lead_fields.search_names()[:5] == ["contact_name", "company", "email", "phone", "message"]
    assert lead_fields.search_names(chooser=True)[:4] == ["contact_name", "company", "email", "phone"]
    assert lead_fields.digit_search_names() == ["phone_e164"]
    assert lead_fields.wordpress_labels()["razon social"] == "company"
    assert lead_fields.wordpress_labels()["me interesa el servicio"] == "service"
    assert lead_fields.form_answer("name").name == "contact_name"
    assert lead_fields.form_answer("service").name == "service_text"
    assert lead_fields.form_answer("extra") is None


def test_a_phone_keeps_name_status_and_age_of_the_listing(brands, manager, client_for):
    create_lead(LeadData(brand=brands["intralog"], contact_name="Ana Móvil", company="Pallets SA"))
    page = client_for(manager).get(reverse("crm_leads:list")).content.decode()
    start = page.index('class="listing crm-lead-listing"')
    listing = page[start : page.index("</table>", start)]
    headings = {
        " ".join(re.sub(r"<[^>]+>", "", text).split()): classes
        for classes, text in re.findall(r'<th\b(?: class="([^"]*)")?[^>]*>(.*?)</th>', listing, re.S)
    }
    assert {name for name, classes in headings.items() if "crm-wide-only" not in classes} == {
        "",  # the bulk-action checkbox
        "Name and company",
        "Status",
        "Age",
    }
    assert {"Brand", "Assignee", "Submitted", "Next action"} <= headings.keys()
    assert listing.count('<td class="crm-wide-only"') == len(headings) - 4


def test_every_path_reads_the_same_declaration():
    choices = LeadFormField._meta.get_field("lead_field").choices
    assert choices[:-1] == lead_fields.form_choices() and choices[-1][0] == "extra"
    placed = create_panel().get_form_options()["fields"]
    assert set(placed) == set(lead_fields.manual_names())
    intake = set(lead_fields.intake_names())
    assert {field.name for field, _answer in lead_fields.wordpress_answers()} <= intake
    assert intake <= {field.name for field in Lead._meta.concrete_fields}


def declared_with(*more):
    return FieldIndex((*lead_fields.FIELDS, *more))


@pytest.mark.parametrize(
    ("declare", "complaint"),
    [
        (lambda: LeadField("company", wordpress=WordPressAnswer("company")), "WordPress"),
        (lambda: LeadField("company", form=FormAnswer("company")), "lead form"),
        (lambda: declared_with(LeadField("age", intake=EVERY_PATH)), "column"),
        (lambda: declared_with(LeadField("company")), "share"),
        (
            lambda: declared_with(LeadField("management_note", intake=EVERY_PATH, form=FormAnswer("name"))),
            "share",
        ),
    ],
)
def test_a_contradicting_declaration_is_refused(declare, complaint):
    with pytest.raises(ValueError, match=complaint):
        declare()


def test_lead_data_refuses_a_field_no_intake_fills(brands):
    with pytest.raises(TypeError, match="management_note"):
        LeadData(brand=brands["intralog"], contact_name="Ana", management_note="dropped?")


NOTE = LeadField(
    "management_note",
    intake=EVERY_PATH,
    wordpress=WordPressAnswer("management_note", ("Nota interna",)),
    form=FormAnswer("management_note"),
    listing=Column(75),
    filter=Filter(75, lookup="icontains"),
    export=Export(225),
    inspect=True,
    search=Search.TEXT,
)


@pytest.fixture
def declared(monkeypatch):
    """``management_note``, a column of the lead no entry declares, declared once with every place."""
    assert "management_note" not in {field.name for field in lead_fields.FIELDS}
    monkeypatch.setattr(lead_fields, "FIELDS", (*lead_fields.FIELDS, NOTE))
    cache.clear()  # the lead form's rate limit


def csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_field_declared_once_comes_in_by_every_path_and_shows_everywhere(
    declared, brands, admin_user, client_for, client, fake_wp, make_source, fast_retries
):
    brand = brands["intralog"]
    create_lead(LeadData(brand=brand, contact_name="Por Datos", management_note="nota por datos"))

    fake_wp.add("3", fields={"Nombre y apellido": "Por WordPress", "Nota interna": " nota   por WordPress "})
    sync_source(make_source(fake_wp, "collection", forms=(("3", "intralog"),)))

    page = make_form_page(brand)
    LeadFormField.objects.create(
        page=page, sort_order=99, label="Nota interna", field_type="singleline", lead_field="management_note"
    )
    values = {
        **submission(page),
        "nombre_y_apellido": "Por Formulario",
        "nota_interna": "nota por formulario",
    }
    assert client.post(page.url, values).status_code == 200

    admin = client_for(admin_user)
    entered = {
        "brand": brand.pk,
        "source": Source.objects.get(key="phone").pk,
        "contact_name": "A Mano",
        "management_note": "nota a mano",
    }
    assert admin.post(reverse("crm_leads:add"), entered).status_code == 302

    notes = dict(Lead.objects.exclude(management_note="").values_list("contact_name", "management_note"))
    assert notes == {
        "Por Datos": "nota por datos",
        "Por WordPress": "nota por WordPress",
        "Por Formulario": "nota por formulario",
        "A Mano": "nota a mano",
    }

    listing = admin.get(reverse("crm_leads:list")).content.decode()
    assert re.search(r"<th[^>]*>\s*Management note\s*</th>", listing)
    assert '<td class="crm-wide-only">nota por WordPress</td>' in listing  # not on a phone: no ``phone=True``
    filtered = admin.get(reverse("crm_leads:list"), {"management_note": "FORMULARIO"}).content.decode()
    assert 'name="management_note"' in filtered
    assert "Por Formulario" in filtered and "A Mano" not in filtered
    searched = admin.get(reverse("crm_leads:list"), {"q": "nota a mano"}).content.decode()
    assert "A Mano" in searched and "Por Datos" not in searched

    header, *rows = csv_rows(admin.get(reverse("crm_leads:list"), {"export": "csv"}))
    assert header[header.index("First contacted") + 1 : header.index("Message")] == ["Management note"]
    assert {row[header.index("Management note")] for row in rows} == {"", *notes.values()}

    lead = Lead.objects.get(contact_name="A Mano")
    inspect = admin.get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    assert "<dt>Management note</dt>" in inspect and "nota a mano" in inspect
