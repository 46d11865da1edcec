"""Personal tokens: shown once, kept hashed, revocable and expiring, each refused at once."""

import datetime
import hashlib

from django.urls import reverse
from django.utils import timezone

from api import tokens
from api.models import ApiToken
from tests.api.conftest import ApiClient


def test_token_is_shown_once_and_stored_as_its_sha256(client_for, manager):
    client = client_for(manager)
    page = client.post(reverse("api_tokens:list"), {"name": "Spreadsheet", "days": "30"})
    assert page.status_code == 200
    token = ApiToken.objects.get(user=manager)
    plaintext = page.context["plaintext"]
    assert plaintext.encode() in page.content
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.filter(pk=token.pk).values().first().values()]
    assert not any(plaintext in value for value in stored)
    assert plaintext.encode() not in client.get(reverse("api_tokens:list")).content
    assert token.expires_at - token.created_at == datetime.timedelta(days=30)
    assert ApiClient(plaintext).get("/statuses").status_code == 200


def test_revoked_token_is_refused_at_once(client_for, employee):
    token, plaintext = tokens.issue(employee, "script")
    api = ApiClient(plaintext)
    assert api.get("/leads").status_code == 200
    client = client_for(employee)
    client.post(reverse("api_tokens:revoke", args=[token.pk]))
    response = api.get("/leads")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_nobody_revokes_another_persons_token(client_for, employee, other_employee):
    token, plaintext = tokens.issue(employee, "script")
    client_for(other_employee).post(reverse("api_tokens:revoke", args=[token.pk]))
    assert ApiClient(plaintext).get("/leads").status_code == 200


def test_expired_token_and_inactive_owner_are_refused(employee, other_employee):
    token, plaintext = tokens.issue(employee, "script")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert ApiClient(plaintext).get("/leads").status_code == 401
    _token, other = tokens.issue(other_employee, "script")
    other_employee.is_active = False
    other_employee.save()
    assert ApiClient(other).get("/leads").status_code == 401


def test_missing_or_unknown_tokens_are_refused(db, employee):
    _token, plaintext = tokens.issue(employee, "script")
    for value in ("", plaintext + "x", plaintext[:-1], "ilm_" + "a" * 500, "wagtail_abc"):
        assert ApiClient(value).get("/leads").status_code == 401
    assert ApiClient(plaintext).client.get("/api/v1/leads").status_code == 401


def test_last_use_is_noted(employee):
    token, plaintext = tokens.issue(employee, "script")
    assert token.last_used_at is None
    ApiClient(plaintext).get("/statuses")
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_token_page_lists_own_tokens_only(client_for, employee, other_employee):
    tokens.issue(employee, "Mine")
    tokens.issue(other_employee, "Theirs")
    content = client_for(employee).get(reverse("api_tokens:list")).content.decode()
    assert "Mine" in content and "Theirs" not in content
