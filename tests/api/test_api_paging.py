"""Keyset paging: every row once while rows change between pages, in a fixed number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.intake import LeadData, create_leads
from crm.models import Lead, Source
from crm.services import add_note
from tests.api.conftest import extract


@pytest.fixture
def many(brands, admin_user):
    phone = Source.objects.get(key="phone")
    drafts = [LeadData(brand=brands["intralog"], contact_name=f"Lead {n}", source=phone) for n in range(12)]
    return create_leads(drafts)


def test_rows_changed_between_pages_are_neither_skipped_nor_repeated(api_for, admin_user, many):
    api = api_for(admin_user)
    served, cursor, changed_behind = [], None, set()
    while True:
        page = api.get("/leads", {"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        served += page["results"]
        cursor = page["next_cursor"]
        if len(served) == 3:
            seen = {row["id"] for row in served}
            ahead = Lead.objects.exclude(pk__in=seen).order_by("pk")[:2]
            behind = Lead.objects.filter(pk__in=seen).order_by("pk")[:1]
            for lead in [*ahead, *behind]:
                add_note(lead, admin_user, "touched between pages")
            changed_behind = {lead.pk for lead in behind}
        if not page["has_more"]:
            break
    ids = [row["id"] for row in served]
    assert set(ids) == {lead.pk for lead in many}
    repeated = {pk for pk in ids if ids.count(pk) > 1}
    assert repeated == changed_behind  # served again only because it changed after being served
    latest = {row["id"]: datetime.datetime.fromisoformat(row["updated_at"]) for row in served}
    for lead in Lead.objects.all():
        assert latest[lead.pk] == lead.updated_at


def test_the_last_cursor_resumes_the_next_extraction(api_for, admin_user, many):
    api = api_for(admin_user)
    rows, _pages = extract(api, limit=5)
    last = api.get("/leads", {"limit": 5}).json()
    cursor = None
    while True:
        page = api.get("/leads", {"limit": 5, **({"cursor": cursor} if cursor else {})}).json()
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert api.get("/leads", {"cursor": cursor}).json()["results"] == []
    add_note(many[0], admin_user, "later")
    later = api.get("/leads", {"cursor": cursor}).json()
    assert [row["id"] for row in later["results"]] == [many[0].pk]
    assert len(rows) == 12 and last["has_more"]


@pytest.mark.parametrize("role", ["admin_user", "manager", "employee"])
def test_a_page_costs_a_fixed_number_of_queries(role, request, api_for, many):
    user = request.getfixturevalue(role)
    api = api_for(user)
    api.get("/leads", {"limit": 2})  # notes the token's use; later pages within the minute write nothing
    first = api.get("/leads", {"limit": 2}).json()
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/leads", {"limit": 5, "cursor": first["next_cursor"]})
    assert response.status_code == 200
    scope = 1 if role == "manager" else 0  # a manager's brands
    assert len(queries) == 2 + scope, [query["sql"] for query in queries]
    with CaptureQueriesContext(connection) as queries:
        api.get("/events", {"limit": 5})
    assert len(queries) == 2 + scope
