"""Query counts of the lead listing and inspect page do not grow with the rows shown."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.intake import LeadData, create_lead
from crm.models import Campaign, Service, Source
from crm.services import add_note, assign, log_contact_attempt


@pytest.fixture
def catalogue(brands):
    brand = brands["intralog"]
    return {
        "brand": brand,
        "service": Service.objects.create(brand=brand, name="Compra de pallets"),
        "campaign": Campaign.objects.create(name="Primavera", brand=brand),
        "source": Source.objects.get(key="web_form"),
    }


def make_leads(count, catalogue, assignees, start=0):
    leads = []
    for number in range(start, start + count):
        lead = create_lead(
            LeadData(
                brand=catalogue["brand"],
                contact_name=f"Contacto {number}",
                company=f"Empresa {number}",
                email=f"c{number}@example.com",
                service=catalogue["service"],
                campaign=catalogue["campaign"],
                source=catalogue["source"],
                tags=[f"tag-{number % 3}", "web"],
            )
        )
        assign(lead, assignees[number % len(assignees)])
        leads.append(lead)
    return leads


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("role", ["admin_user", "manager"])
def test_listing_query_count_does_not_depend_on_rows(
    role, request, catalogue, employee, other_employee, client_for
):
    user = request.getfixturevalue(role)
    client = client_for(user)
    url = reverse("crm_leads:list")
    make_leads(10, catalogue, [employee, other_employee])
    client.get(url)  # warm per-process caches (content types, site, permissions)
    ten, response = count_queries(client, url)
    assert response.content.decode().count('data-object-id="') >= 0
    assert "Contacto 9" in response.content.decode()
    make_leads(40, catalogue, [employee, other_employee], start=10)
    fifty, response = count_queries(client, url)
    assert "Contacto 49" in response.content.decode()
    assert "Contacto 0" in response.content.decode()
    assert fifty == ten


def test_filtered_and_searched_listing_query_count_is_constant(catalogue, manager, employee, client_for):
    client = client_for(manager)
    url = reverse("crm_leads:list") + f"?assignee={employee.pk}&q=example&ordering=contact_name"
    make_leads(5, catalogue, [employee])
    client.get(url)
    few, _response = count_queries(client, url)
    make_leads(30, catalogue, [employee], start=5)
    many, _response = count_queries(client, url)
    assert few == many


def test_inspect_query_count_is_bounded(catalogue, manager, employee, client_for):
    client = client_for(manager)
    lead, duplicate = make_leads(2, catalogue, [employee])
    url = reverse("crm_leads:inspect", args=[lead.pk])
    client.get(url)
    few, _response = count_queries(client, url)
    for number in range(30):
        add_note(lead, manager, f"Nota {number}")
        log_contact_attempt(lead, employee, "phone", "no_answer", f"Intento {number}")
    many, response = count_queries(client, url)
    assert "Nota 29" in response.content.decode()
    assert many == few
    assert many <= 40


@pytest.mark.parametrize("role", ["admin_user", "manager", "employee"])
def test_a_name_search_query_count_does_not_depend_on_rows(role, request, catalogue, employee, client_for):
    """A search by name, as people type it, for every role: each row drawn with its tags, duplicate badge,
    next action and menu, and no query per row."""
    client = client_for(request.getfixturevalue(role))
    url = reverse("crm_leads:list") + "?q=contacto"
    leads = make_leads(3, catalogue, [employee])
    make_leads(1, catalogue, [employee], start=0)  # a repeat of "Contacto 0": a duplicate
    client.get(url)
    few, response = count_queries(client, url)
    assert response.content.decode().count('data-object-id="') == 4
    assert "Duplicate" in response.content.decode()
    make_leads(36, catalogue, [employee], start=3)
    tomorrow = timezone.now() + timedelta(days=1)
    for lead in leads:
        log_contact_attempt(lead, employee, "phone", "no_answer", "Sin respuesta", follow_up_at=tomorrow)
    many, response = count_queries(client, url)
    assert response.content.decode().count('data-object-id="') == 40
    assert many == few
