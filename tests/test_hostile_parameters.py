"""Crafted request parameters never cause a server error: every admin URL, every role, hostile values."""

import re
import sys
from urllib.parse import urlencode

import pytest
from django.core.signals import got_request_exception
from django.urls import URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

from crm import saved_views
from crm.intake import LeadData, create_lead
from crm.models import Lead, Source
from crm.services import assign
from forms_builder.models import LeadFormSubmission
from tests.admin_urls import argless_admin_urls
from tests.forms_support import make_form_page
from tests.two_factor_support import sign_in_fully

ARGUMENT = re.compile(r"<(?:(\w+):)?\w+>")
HUGE = "9" * 30
BIGINT_PLUS_ONE = str(2**63)
FTS_TRASH = '😀\'"< AND OR NOT (* NEAR/2 "unterminated -x +y ^z'

HOSTILE_QUERIES = [
    {
        "p": HUGE,
        "q": "😀'\"<",
        "status": HUGE,
        "stage": "nope",
        "brand": HUGE,
        "assignee": HUGE,
        "service": "abc",
        "source": BIGINT_PLUS_ONE,
        "campaign": "-1",
        "tags": HUGE,
        "ordering": "-no_such_column",
        "received_after": "2024-13-45",
        "received_before": "abc",
        "start": "99999-01-01",
        "end": "0000-00-00",
        "period": "forever",
        "interval": "eon",
        "export": "weird",
        "sort": "-nope",
    },
    {
        "p": "-1",
        "q": FTS_TRASH,
        "status": "abc",
        "brand": "abc",
        "assignee": "abc",
        "service": HUGE,
        "source": "abc",
        "campaign": HUGE,
        "tags": "abc",
        "ordering": "'; DROP TABLE crm_lead; --",
        "received_after": HUGE,
        "start": "0001-01-01",
        "end": HUGE,
        "timestamp_after": "abc",
        "timestamp_before": HUGE,
        "user": HUGE,
        "action": "nope",
        "content_type": HUGE,
        "locale": "xx-nope",
        "export": "csv",
    },
    {
        "p": "abc",
        "q": '"',
        "status": BIGINT_PLUS_ONE,
        "assignee": "-1",
        "user": "abc",
        "content_type": "abc",
        "role": "nope",
        "is_active": "maybe",
        "collection_id": HUGE,
        "page_type": "abc",
        "start": "9999-12-31",
        "end": "0001-01-01",
        "export": "xlsx",
    },
    {"p": "0", "q": "NEAR(", "collection_id": "abc", "ordering": "-", "start": "2026-02-30", "compare": "on"},
]
# Integer parameters Wagtail reads unchecked: each alone, so the others above reach the views.
HOSTILE_IDS = [
    "id=abc",
    f"id={HUGE}",
    f"id=1&id=abc&id={HUGE}",
    f"id={BIGINT_PLUS_ONE}",
    "parent_page_id=abc",
]

# Wagtail's deliberate error page (it raises for anyone, whatever the parameters), not a parameter fault.
DELIBERATE_ERRORS = {"/admin/failwhale/"}
SKIPPED = {"/admin/logout/"}


@pytest.fixture
def population(admin_user, manager, employee, brands):
    phone = Source.objects.get(key="phone")
    leads = []
    for brand, name in ((brands["intralog"], "Ana Uno"), (brands["intrapal"], "Beto Dos")):
        lead = create_lead(LeadData(brand=brand, contact_name=name, source=phone), actor=admin_user)
        if brand.code == "intralog":
            lead = assign(lead, employee, actor=manager)
        leads.append(lead)
    page = make_form_page(brands["intralog"])
    LeadFormSubmission.objects.create(page=page, form_data={"nombre_y_apellido": "Ana"})
    view = saved_views.save_view(
        manager,
        name="Equipo",
        kind="listing",
        query="stage=active",
        visibility="brand",
        brands=[brands["intralog"]],
    )
    return {
        "admin": admin_user,
        "manager": manager,
        "employee": employee,
        "lead": leads[0],
        "form_page": page,
        "saved_view": view,
    }


def object_urls(population):
    """Views of existing objects that read query parameters (pagination, filters, ids)."""
    lead, page, employee = population["lead"], population["form_page"], population["employee"]
    return [
        *(reverse(f"crm_leads:{name}", args=[lead.pk]) for name in ("inspect", "edit", "history", "usage")),
        reverse("crm_leads:history_results", args=[lead.pk]),
        *(
            reverse(f"crm_leads:{name}", args=[lead.pk])
            for name in ("assign", "change_status", "note", "merge")
        ),
        reverse("forms_builder_report", args=[page.pk]),
        reverse("wagtailforms:list_submissions", args=[page.pk]),
        reverse("wagtailforms:list_submissions_results", args=[page.pk]),
        reverse("wagtailadmin_pages:history", args=[page.pk]),
        reverse("wagtailadmin_explore", args=[page.pk]),
        reverse("wagtailusers_users:edit", args=[employee.pk]),
        reverse("wagtailusers_users:history", args=[employee.pk]),
        *(
            reverse("wagtail_bulk_action", args=("crm", "lead", action))
            for action in ("assign", "change_status")
        ),
        reverse("wagtail_bulk_action", args=("crm", "user", "delete")),
        *(reverse("crm_leads:view_save", args=[kind]) for kind in ("listing", "board")),
        *(
            reverse(f"crm_leads:{name}", args=[population["saved_view"].pk])
            for name in ("view_open", "view_edit")
        ),
    ]


def admin_urls_with_arguments():
    """Every admin route that takes arguments, with a number beyond 64 bits for each integer and a
    word for each other argument (regular-expression routes left out)."""
    found = set()

    def walk(patterns, prefix=""):
        for entry in patterns:
            pattern = entry.pattern
            if not isinstance(pattern, RoutePattern):
                continue
            route = prefix + str(pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif route.startswith("admin/") and "<" in route:
                found.add("/" + ARGUMENT.sub(lambda match: HUGE if match[1] == "int" else "nope", route))

    walk(get_resolver().url_patterns)
    return sorted(found)


# Views that read ``id``/``parent_page_id`` lists: choosers, bulk actions, page trees.
READS_IDS = ("choose", "chooser", "chosen", "bulk", "pages", "multiple")


def hostile_queries(path, every_id_query):
    """The hostile queries for ``path``: the filter sets always, the id lists everywhere when asked
    (the admin's sweep), else only where a view reads them."""
    queries = [urlencode(params) for params in HOSTILE_QUERIES]
    if every_id_query or any(word in path for word in READS_IDS):
        queries += HOSTILE_IDS
    return queries


def server_errors(client, paths, queries=None, every_id_query=True):
    """``(path, query, status, exception)`` of every hostile request answered with a 5xx."""
    raised = []

    def remember(sender, request=None, **kwargs):
        raised.append(repr(sys.exc_info()[1])[:200])

    failures = []
    got_request_exception.connect(remember)
    try:
        for path in paths:
            for query in queries or hostile_queries(path, every_id_query):
                raised.clear()
                response = client.get(f"{path}?{query}")
                if response.status_code >= 500:
                    failures.append((path, query[:40], response.status_code, raised[-1:]))
    finally:
        got_request_exception.disconnect(remember)
    return failures


@pytest.mark.parametrize("role", ["admin", "manager", "employee"])
def test_no_admin_url_answers_hostile_parameters_with_a_server_error(role, population, client):
    client.raise_request_exception = False
    sign_in_fully(client, population[role])
    paths = [path for path, _name in argless_admin_urls() if path not in DELIBERATE_ERRORS | SKIPPED]
    assert len(paths) > 100
    # Ids are read the same way whoever asks: every URL gets them once, in the admin's sweep.
    assert server_errors(client, paths, every_id_query=role == "admin") == []


def test_the_sweep_counts_a_server_error(population, client):
    """The sweep sees exceptions as 500s (it would otherwise pass by raising nothing)."""
    client.raise_request_exception = False
    sign_in_fully(client, population["admin"])
    assert server_errors(client, ["/admin/failwhale/"]) != []
    assert reverse("wagtailadmin_error_test") == "/admin/failwhale/"


@pytest.mark.parametrize("role", ["admin", "manager", "employee"])
def test_no_object_view_answers_hostile_parameters_with_a_server_error(role, population, client):
    client.raise_request_exception = False
    sign_in_fully(client, population[role])
    assert server_errors(client, object_urls(population)) == []


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_no_admin_url_answers_huge_or_unknown_path_arguments_with_a_server_error(role, population, client):
    client.raise_request_exception = False
    sign_in_fully(client, population[role])
    paths = admin_urls_with_arguments()
    assert len(paths) > 150
    assert server_errors(client, paths, ["", urlencode(HOSTILE_QUERIES[0])]) == []


RELATIONS = (
    "brands",
    "status",
    "assignee",
    "brand",
    "service",
    "source",
    "campaign",
    "tags",
    "duplicate_of",
    "target",
    "lead",
    "recipients",
    "collection",
    "parent_page",
    "page",
    "form",
    "groups",
    "default_service",
)
TEXT = {
    "role": "nope",
    "stage": "nope",
    "username": "😀'\"<",
    "email": "😀'\"<",
    "first_name": "😀'\"<",
    "name": "😀'\"<",
    "note": "😀'\"<",
    "priority": HUGE,
    "received_at": "99999-99-99",
    "next": "//evil.example/",
}
# Numbers beyond 64 bits alone (a word next to them would stop validation before the query).
HOSTILE_FORMS = [
    {**TEXT, **{name: [HUGE, BIGINT_PLUS_ONE] for name in RELATIONS}},
    {**TEXT, **{name: ["abc", "-1"] for name in RELATIONS}},
]


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_no_form_answers_a_hostile_post_with_a_server_error(role, population, client):
    """Forms that create or change things (people, leads, rules, bulk actions) given huge or foreign ids."""
    client.raise_request_exception = False
    sign_in_fully(client, population[role])
    creating = [path for path, _name in argless_admin_urls() if path.endswith(("/new/", "/add/"))]
    changing = [path for path in object_urls(population) if not path.endswith("/delete/")]
    assert "/admin/users/new/" in creating
    failures = []
    for path in creating + changing:
        for query in ("", f"id={population['lead'].pk}&id={HUGE}"):
            for number, form in enumerate(HOSTILE_FORMS):
                response = client.post(f"{path}?{query}", form)
                if response.status_code >= 500:
                    failures.append((path, query, number, response.status_code))
    assert failures == []


def test_a_page_number_beyond_64_bits_shows_the_last_page_of_leads(population, client):
    sign_in_fully(client, population["admin"])
    response = client.get(reverse("crm_leads:list"), {"p": HUGE})
    assert response.status_code == 200
    assert "Ana Uno" in response.content.decode()


def test_chosen_multiple_with_a_word_for_an_id_is_a_bad_request(population, client):
    sign_in_fully(client, population["admin"])
    url = reverse("crm_lead_chooser:chosen_multiple")
    assert client.get(url, {"id": "abc"}).status_code == 400
    assert client.get(url, {"id": HUGE}).status_code == 400
    assert client.get(f"{url}?id={population['lead'].pk}&id={2**63 - 1}").status_code == 200


def test_search_reads_quotes_and_operators_as_text(population, client):
    sign_in_fully(client, population["admin"])
    search = reverse("wagtailadmin_pages:search")
    found = client.get(search, {"q": 'Contacto " INTRALOG'})
    assert found.status_code == 200 and "Contacto INTRALOG" in found.content.decode()
    for query in ("😀'\"<", FTS_TRASH, 'NEAR("a" "b")', "title:x", "*"):
        assert client.get(search, {"q": query}).status_code == 200
        assert client.get(reverse("wagtailforms:index"), {"q": query}).status_code == 200


def test_in_lookups_skip_integers_no_column_can_hold(population):
    lead = population["lead"]
    assert list(Lead.objects.filter(pk__in=[2**63, -(2**63) - 1, 10**40, lead.pk])) == [lead]
    assert not Lead.objects.filter(pk__in=[2**64]).exists()
    assert Lead.objects.exclude(pk__in=[2**64]).filter(pk=lead.pk).exists()
