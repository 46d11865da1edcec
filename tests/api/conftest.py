"""Fixtures of the API tests: tokens for people and a client that sends them."""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from api import tokens

BASE = "/api/v1"


@pytest.fixture(autouse=True)
def _rate_counts_cleared():
    """Rate counts live in the cache, keyed by token id; ids come back after a rolled-back test."""
    cache.clear()
    yield
    cache.clear()


class ApiClient:
    """HTTP to /api/v1/ with a bearer token, as a program would call it."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.client = Client()

    def headers(self, extra=None):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}", **(extra or {})}

    def get(self, path, data=None, **extra):
        return self.client.get(BASE + path, data or {}, **self.headers(extra))

    def post(self, path, body, **extra):
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.post(BASE + path, content, content_type="application/json", **self.headers(extra))


@pytest.fixture
def api_for(db):
    def make(user, days=30):
        _token, plaintext = tokens.issue(user, "test", days)
        return ApiClient(plaintext)

    return make


def extract(api, path="/leads", limit=2, **params):
    """Every row of an extraction, page by page, and the number of pages."""
    rows, cursor, pages = [], None, 0
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = api.get(path, query)
        assert response.status_code == 200, response.content
        page = response.json()
        rows += page["results"]
        pages += 1
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return rows, pages
