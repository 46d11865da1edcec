"""Hostile and broken requests: each gets a 4xx with a message, never a 500."""

import json

import pytest

from crm.intake import LeadData, create_lead
from crm.models import Source
from tests.api.conftest import BASE


@pytest.fixture
def lead(brands, admin_user):
    return create_lead(
        LeadData(brand=brands["intralog"], contact_name="Ana", source=Source.objects.get(key="phone"))
    )


def test_rate_limit_answers_429_with_retry_after(settings, api_for, employee):
    settings.API_RATE_PER_MINUTE = 3
    api = api_for(employee)
    assert [api.get("/statuses").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/statuses")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert api_for(employee).get("/statuses").status_code == 200  # per token


def test_malformed_json_unknown_fields_and_huge_bodies(api_for, admin_user, brands, lead):
    api = api_for(admin_user)
    key = {"HTTP_IDEMPOTENCY_KEY": "k1"}
    assert api.post("/leads", b'{"brand": 1,', **key).status_code == 400
    assert api.post(f"/leads/{lead.pk}/notes", b"not json").status_code == 400
    unknown = api.post(
        "/leads", {"brand": brands["intralog"].pk, "contact_name": "X", "is_admin": True}, **key
    )
    assert unknown.status_code == 422
    assert api.post(f"/leads/{lead.pk}/notes", {"note": "x", "actor": 1}).status_code == 422
    assert api.post(f"/leads/{lead.pk}/status", {"status": "contacted", "assignee": 1}).status_code == 422
    huge = json.dumps({"brand": brands["intralog"].pk, "message": "x" * (10 * 1024 * 1024)})
    assert api.post("/leads", huge, **key).status_code == 413
    assert api.post(f"/leads/{lead.pk}/notes", huge).status_code == 413
    assert api.post("/leads", [1, 2], **key).status_code in (400, 422)
    assert api.post("/leads", {"brand": "x"}, **key).status_code == 422


def test_tampered_cursors_are_400(api_for, admin_user, lead):
    api = api_for(admin_user)
    cursor = api.get("/leads", {"limit": 1}).json()["next_cursor"]
    events_cursor = api.get("/events", {"limit": 1}).json()["next_cursor"]
    for forged in (
        cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),
        "x",
        cursor + ":x",
        events_cursor,
        "%00",
    ):
        assert api.get("/leads", {"cursor": forged}).status_code == 400, forged
    assert api.get("/events", {"cursor": cursor}).status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "x"},
        {"limit": "99999999999999999999999"},
        {"updated_after": "yesterday"},
        {"status": "x"},
        {"status": "99999999999999999999999"},
        {"brand": "0"},
        {"assignee": "99999999999999999999999"},
        {"submitted_from": "2020-13-45"},
        {"nope": "1"},
        {"q": "x" * 500},
        {"q": "\x00"},
        {"sla": "x"},
        {"assigned_within": "1e400"},
    ],
)
def test_no_parameter_causes_a_500(params, api_for, admin_user, lead):
    response = api_for(admin_user).get("/leads", params)
    assert response.status_code in (200, 400, 422), response.content


def test_unknown_lead_ids_and_paths(api_for, admin_user):
    api = api_for(admin_user)
    assert api.get("/leads/999999999").status_code == 404
    assert api.get("/leads/99999999999999999999999").status_code in (404, 422)
    assert api.get("/leads/x").status_code in (404, 422)
    assert api.get("/dashboards/daily", {"since": "x", "until": "2020-01-01"}).status_code == 422
    assert api.client.get(BASE + "/nowhere").status_code in (301, 404)


def test_the_listings_hostile_queries_are_refused_or_harmless(api_for, admin_user, employee, lead):
    from tests.test_hostile_parameters import HOSTILE_QUERIES

    for user in (admin_user, employee):
        api = api_for(user)
        for query in HOSTILE_QUERIES:
            for path in ("/leads", "/events"):
                response = api.get(path, query)
                assert response.status_code in (200, 400, 422), (path, query, response.content[:200])
