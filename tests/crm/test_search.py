"""Searching leads as people type them (``crm.search``): accents, case, punctuation and word order do not
matter, phones are found by their digits in any format and emails by any part; only within the user's
leads; the admin's header search opens the one lead that matches; every write keeps the text in step."""

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import lead_fields
from crm.field_spec import Search
from crm.intake import LeadData, create_lead, create_leads
from crm.models import Lead
from crm.pagination import COUNT_CAP, SEARCH_COUNT_CAP, CappedCountPaginator
from crm.search import (
    LISTING_ONLY_CHARS,
    SEPARATOR,
    lead_search_text,
    query_terms,
    refill_search_text,
    search_leads,
)
from crm.services import assign, edit_lead, merge_leads

LISTING = reverse("crm_leads:list")
QUICK = reverse("crm_leads:search")
CHOOSER = reverse("crm_lead_chooser:choose_results")
RAUL = "+54 9 11 4444-5555"


def inspect(lead):
    return reverse("crm_leads:inspect", args=[lead.pk])


@pytest.fixture
def people(brands, employee, other_employee, manager):
    """Leads of the intralog brand: Raúl Sosa's is the employee's, Raúl Núñez's the other employee's."""

    def lead(name, assignee=None, **fields):
        made = create_lead(LeadData(brand=brands["intralog"], contact_name=name, **fields), actor=manager)
        return assign(made, assignee, actor=manager) if assignee else made

    return {
        "sosa": lead(
            "Sosa, Raúl",
            assignee=employee,
            email="raul.sosa@correo.example",
            phone=RAUL,
            company="Depósitos del Sur S.A.",
        ),
        "nunez": lead("Raúl Núñez", assignee=other_employee, phone="(0351) 15-612-3456"),
        "ponce": lead("Ponce González", message="Necesito 200 pallets para el depósito"),
        "gonzalez": lead("María Gonzalez-Ponce", email="MGP@empresa.example"),
        "perez": lead("O'Brien Pérez", company="Tarimas & Cía."),
    }


def found(client, query, url=LISTING):
    response = client.get(url, {"q": query})
    assert response.status_code == 200
    html = response.content.decode()
    return {key for key, name in NAMES.items() if name in html}


NAMES = {
    "sosa": "Sosa, Raúl",
    "nunez": "Raúl Núñez",
    "ponce": "Ponce González",
    "gonzalez": "María Gonzalez-Ponce",
    "perez": "O&#x27;Brien Pérez",
}

SEARCHES = {
    "raul sosa": {"sosa"},
    "SOSA raúl": {"sosa"},
    "sosa,raul": {"sosa"},
    "nunez": {"nunez"},
    "NÚÑEZ": {"nunez"},
    "raul": {"sosa", "nunez"},
    "ponce gonzalez": {"ponce", "gonzalez"},
    "gonzález ponce": {"ponce", "gonzalez"},
    "gonzalez-ponce": {"ponce", "gonzalez"},
    "maria ponce": {"gonzalez"},
    "obrien": {"perez"},
    "o'brien": {"perez"},
    "o brien perez": {"perez"},
    "tarimas & cia": {"perez"},
    "deposito": {"sosa", "ponce"},
    "depositos sa": {"sosa"},
    "raul perez": set(),
    # Words of one or two letters at the start of a word (a trigram index finds those), longer ones anywhere.
    "ra s": {"sosa"},
    "ez": set(),
    "onzal": {"ponce", "gonzalez"},
    # Phones by their digits, however written.
    RAUL: {"sosa"},
    "11 4444 5555": {"sosa"},
    "1144445555": {"sosa"},
    "011 4444-5555": {"sosa"},
    "15 4444 5555": {"sosa"},
    "4444-5555": {"sosa"},
    "(11) 4444 5555": {"sosa"},
    "+5493516123456": {"nunez"},
    "0351 612 3456": {"nunez"},
    "612-3456": {"nunez"},
    # Emails by any part.
    "raul.sosa@correo.example": {"sosa"},
    "sosa@correo": {"sosa"},
    "raul.sosa": {"sosa"},
    "correo.example": {"sosa"},
    "mgp@": {"gonzalez"},
    "EMPRESA.EXAMPLE": {"gonzalez"},
    # Nothing to search for.
    "!!!": set(),
    "😀": set(),
}


@pytest.mark.parametrize(("query", "expected"), SEARCHES.items())
def test_the_listing_finds_leads_as_people_type_them(people, admin_user, client_for, query, expected):
    assert found(client_for(admin_user), query) == expected


def test_the_search_text_folds_the_searched_fields(people):
    sosa = Lead.objects.get(pk=people["sosa"].pk)
    assert sosa.search_text == (
        "sosa raul depositos del sur s a raul sosa correo example 54 9 11 4444 5555 sa 5491144445555 "
        f"{SEPARATOR}"
    )
    ponce = Lead.objects.get(pk=people["ponce"].pk)
    assert ponce.search_text == "ponce gonzalez | necesito 200 pallets para el deposito"


def test_a_query_is_words_or_a_phone_number():
    assert query_terms(" Raúl  SOSA, raúl ") == (["raul", "sosa"], False)
    assert query_terms("ana anabel") == (["anabel"], False)
    assert query_terms("ana a") == (["ana", "a"], False)
    assert query_terms("15 4444 5555") == (["1544445555", "5491144445555"], True)
    assert query_terms("011 4444-5555") == (["1144445555"], True)
    assert query_terms("12345") == (["12345"], False)
    assert query_terms("-_-") == ([], False)


def test_an_employee_finds_only_their_own_leads(people, employee, client_for):
    client = client_for(employee)
    assert found(client, "raul") == {"sosa"}
    assert found(client, "nunez") == set()
    assert found(client, "0351 612 3456") == set()
    assert "No leads match your query." in client.get(LISTING, {"q": "nunez"}).content.decode()


def test_a_manager_finds_only_their_brands_leads(people, brands, other_manager, client_for):
    create_lead(LeadData(brand=brands["intrapal"], contact_name="Raúl Ajeno"))
    client = client_for(other_manager)
    assert found(client, "raul") == set()
    assert "Raúl Ajeno" in client.get(LISTING, {"q": "ajeno"}).content.decode()


def test_the_header_search_opens_the_only_match(people, employee, client_for):
    client = client_for(employee)
    response = client.get(QUICK, {"q": "sosa raul"})
    assert response.status_code == 302 and response["Location"] == inspect(people["sosa"])
    page = client.get(QUICK, {"q": "sosa raul"}, follow=True)
    assert page.status_code == 200 and "Sosa, Raúl" in page.content.decode()


def test_the_header_search_lists_several_matches_and_none(people, admin_user, employee, client_for):
    response = client_for(admin_user).get(QUICK, {"q": "raúl"})
    assert response.status_code == 302 and response["Location"] == f"{LISTING}?q=ra%C3%BAl"
    # The other employee's Raúl Núñez is not the employee's: nothing matches for them.
    client = client_for(employee)
    response = client.get(QUICK, {"q": "nunez"})
    assert response["Location"] == f"{LISTING}?q=nunez"
    assert "No leads match your query." in client.get(response["Location"]).content.decode()
    assert client.get(QUICK)["Location"] == LISTING


def test_the_header_search_is_for_people_who_work_with_leads(people, marketer, client_for):
    """Wagtail answers the refusal with a redirect to the dashboard and a message."""
    response = client_for(marketer).get(QUICK, {"q": "sosa"})
    assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")


def test_the_header_search_opens_the_match_in_one_query(people, employee, client_for):
    client = client_for(employee)
    client.get(QUICK, {"q": "sosa"})
    with CaptureQueriesContext(connection) as queries:
        client.get(QUICK, {"q": "sosa"})
    assert sum("crm_lead" in query["sql"] for query in queries.captured_queries) == 1


def test_searching_adds_no_query_to_the_listing(people, admin_user, employee, client_for):
    for user in (admin_user, employee):
        client = client_for(user)
        counts = []
        for query in ({}, {"q": "raul sosa"}, {"q": "11 4444 5555"}):
            client.get(LISTING, query)
            with CaptureQueriesContext(connection) as queries:
                client.get(LISTING, query)
            counts.append(len(queries.captured_queries))
        assert counts[0] == counts[1] == counts[2], counts


def test_a_search_counts_its_matches_up_to_a_lower_cap(people, admin_user, client_for):
    client = client_for(admin_user)
    assert client.get(LISTING).context["paginator"].count_cap == COUNT_CAP
    searched_page = client.get(LISTING, {"q": "raul"}).context["paginator"]
    assert (searched_page.count_cap, searched_page.count) == (SEARCH_COUNT_CAP, 2)
    assert CappedCountPaginator(Lead.objects.order_by("pk"), 1, cap=20).count_cap == 20


def test_the_lead_chooser_searches_the_same_way(people, manager, client_for):
    client = client_for(manager)
    assert found(client, "nunez", CHOOSER) == {"nunez"}
    assert found(client, "gonzalez ponce", CHOOSER) == {"ponce", "gonzalez"}
    assert found(client, "11 4444 5555", CHOOSER) == {"sosa"}
    # The message is searched by the listing only.
    assert found(client, "pallets", CHOOSER) == set()
    assert found(client, "pallets") == {"ponce"}
    assert found(client, f"#{people['perez'].pk}", CHOOSER) == {"perez"}
    assert found(client, "#" + "9" * 30, CHOOSER) == set()


def test_the_chooser_searches_only_what_the_user_may_see(people, employee, client_for):
    client = client_for(employee)
    assert found(client, "raul", CHOOSER) == {"sosa"}
    assert found(client, f"#{people['nunez'].pk}", CHOOSER) == set()


def test_the_board_searches_the_same_way(people, admin_user, client_for):
    html = client_for(admin_user).get(reverse("crm_leads:board"), {"q": "nunez"}).content.decode()
    assert "Raúl Núñez" in html and "Sosa, Raúl" not in html


# Every write keeps the search text in step ----------------------------------------------------------


def searched(query):
    return set(search_leads(Lead.objects.all(), query).values_list("contact_name", flat=True))


def assert_in_step(*leads):
    for lead in leads:
        stored = Lead.objects.get(pk=lead.pk)
        assert stored.search_text == lead_search_text(stored)


def test_create_lead_writes_the_text(brands):
    lead = create_lead(LeadData(brand=brands["intralog"], contact_name="Íñigo Peña", phone="11 5555-6666"))
    assert_in_step(lead)
    assert searched("inigo pena") == searched("1155556666") == {"Íñigo Peña"}


@pytest.mark.parametrize("size", [3, 12])  # below and above core.bulk's COPY threshold
def test_create_leads_writes_the_text_of_a_batch(brands, size):
    drafts = [
        LeadData(
            brand=brands["intralog"],
            contact_name=f"Zoë Müller {number}",
            email=f"zoe{number}@lote.example",
            phone=f"11 6000-{number:04d}",
            external_source="import",
            external_id=str(number),
        )
        for number in range(size)
    ]
    leads = [lead for lead in create_leads(drafts) if lead is not None]
    assert len(leads) == size
    assert_in_step(*leads)
    assert searched("zoe muller 2") == {"Zoë Müller 2"}
    assert searched("zoe2@lote") == {"Zoë Müller 2"}
    assert searched("11 6000 0002") == {"Zoë Müller 2"}


def test_edit_lead_writes_the_text(people, manager):
    edit_lead(people["nunez"], manager, {"contact_name": "Raúl Ibáñez", "phone": "11 7777-8888"})
    assert_in_step(people["nunez"])
    assert searched("nunez") == set()
    assert searched("ibanez") == searched("1177778888") == {"Raúl Ibáñez"}


def test_other_verbs_leave_the_text_as_it_is(people, manager, employee):
    before = Lead.objects.get(pk=people["ponce"].pk).search_text
    assign(people["ponce"], employee, actor=manager)
    assert Lead.objects.get(pk=people["ponce"].pk).search_text == before


def test_merge_writes_the_survivors_text(brands, manager):
    duplicate = create_lead(
        LeadData(brand=brands["intralog"], contact_name="Ana Duplicada", email="ana.dup@correo.example")
    )
    survivor = create_lead(LeadData(brand=brands["intralog"], contact_name="Ana Sobreviviente"))
    merge_leads(duplicate, survivor, manager)
    assert_in_step(duplicate, survivor)
    assert searched("ana.dup@correo") == {"Ana Duplicada", "Ana Sobreviviente"}


def test_refill_writes_what_changed(people):
    Lead.objects.filter(pk=people["sosa"].pk).update(search_text="")
    assert refill_search_text() == 1
    assert_in_step(*people.values())
    assert refill_search_text() == 0


def test_a_message_is_searched_by_its_start(brands):
    """The first ``LISTING_ONLY_CHARS`` characters of a message are searched; a pasted tail is not indexed."""
    words = "palabra " * (LISTING_ONLY_CHARS // len("palabra "))
    message = f"Cotizar almacenaje {words}firma-al-final"
    create_lead(LeadData(brand=brands["intralog"], contact_name="Mensaje largo", message=message))
    assert searched("almacenaje") == {"Mensaje largo"}
    assert searched("firma al final") == set()
    assert len(Lead.objects.get().search_text) < LISTING_ONLY_CHARS + 100


def test_a_field_declared_searched_is_searched(people, monkeypatch, brands):
    searched_location = [
        dataclasses.replace(field, search=Search.TEXT) if field.name == "location" else field
        for field in lead_fields.FIELDS
    ]
    monkeypatch.setattr(lead_fields, "FIELDS", tuple(searched_location))
    create_lead(LeadData(brand=brands["intralog"], contact_name="En Córdoba", location="Córdoba Capital"))
    assert searched("cordoba capital") == {"En Córdoba"}


@pytest.mark.postgres
def test_postgresql_answers_a_search_from_the_trigram_index(people):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's trigram index")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in ("raul sosa", "11 4444 5555", "ra s"):
            sql, params = search_leads(Lead.objects.order_by(), query).values("pk").query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "crm_lead_search_trgm" in plan, plan
