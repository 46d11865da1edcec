"""The OpenAPI schema and the docs page: for people signed in to the admin, served from this server."""

import re

from django.urls import reverse


def test_schema_and_docs_load_for_a_signed_in_user(client_for, manager):
    client = client_for(manager)
    schema = client.get(reverse("api_v1:openapi-json"))
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/leads", "/api/v1/events", "/api/v1/leads/{lead_id}/status"} <= set(paths)
    docs = client.get(reverse("api_v1:openapi-view"))
    assert docs.status_code == 200
    sources = re.findall(rb'(?:src|href)="([^"]+)"', docs.content)
    assert sources and not [source for source in sources if source.startswith((b"http:", b"https:", b"//"))]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for name in ("api_v1:openapi-json", "api_v1:openapi-view"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("wagtailadmin_login") in response["Location"]
