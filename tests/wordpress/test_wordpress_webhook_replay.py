"""Webhook replays and hostile bodies: a captured request sent again makes no second lead, whatever its id;
a body nested too deeply is quarantined with its reason, not retried."""

import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from crm.models import Lead
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from tests.fake_wordpress import run_queued_jobs
from tests.wordpress.test_wordpress_webhooks import ELEMENTOR_SIMPLE, signed_headers, signed_url, token_url
from wordpress.models import SourceForm, Submission, WebhookDelivery, WordPressSource
from wordpress.webhooks import MAX_JSON_DEPTH, sign


@pytest.fixture
def source(brands):
    source = WordPressSource.objects.create(
        name="Sitio INTRALOG", slug="intralog", shape="collection", url="http://127.0.0.1:9/none"
    )
    SourceForm.objects.create(source=source, form_id="7", brand=brands["intrapal"])
    return source


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST a webhook over the test client, then run the jobs it queued."""

    def send(url, body, content_type, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data=body, content_type=content_type, headers=headers)
        run_queued_jobs("high")
        return response

    return send


NO_ENTRY_ID = json.dumps(
    {"form_id": 7, "fields": {"Email": "sin-id@example.com", "Nombre": "Sin Id"}}
).encode()


def test_the_signature_covers_the_delivery_id(source):
    assert sign("s", "1700000000", "d-1", b"{}") != sign("s", "1700000000", "d-2", b"{}")
    assert sign("s", "1700000000", "d-1", b"{}") == (
        "sha256=" + hmac.new(b"s", b"1700000000.d-1.{}", hashlib.sha256).hexdigest()
    )


def test_a_captured_request_replayed_under_a_new_id_is_refused(source, post):
    headers = signed_headers(source, NO_ENTRY_ID, "d-1")
    assert post(signed_url(source), NO_ENTRY_ID, "application/json", **headers).status_code == 202
    replayed = {**headers, "X-Intralog-Delivery": "d-1-replayed"}
    assert post(signed_url(source), NO_ENTRY_ID, "application/json", **replayed).status_code == 401
    assert WebhookDelivery.objects.count() == 1
    assert Lead.objects.count() == 1


def test_the_same_signed_body_under_a_new_id_within_the_window_is_a_duplicate(source, post):
    """Even signed afresh (by the sender itself re-sending), one body within the window is one lead."""
    first = post(
        signed_url(source), NO_ENTRY_ID, "application/json", **signed_headers(source, NO_ENTRY_ID, "a")
    )
    again = post(
        signed_url(source), NO_ENTRY_ID, "application/json", **signed_headers(source, NO_ENTRY_ID, "b")
    )
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"status": "duplicate", "delivery": first.json()["delivery"]}
    assert Lead.objects.count() == 1
    WebhookDelivery.objects.update(
        received_at=WebhookDelivery.objects.get().received_at - timedelta(minutes=11)
    )
    later = post(
        signed_url(source), NO_ENTRY_ID, "application/json", **signed_headers(source, NO_ENTRY_ID, "c")
    )
    assert later.status_code == 202
    assert WebhookDelivery.objects.count() == 2


def test_a_token_url_body_sent_again_with_new_delivery_headers_makes_one_lead(source, post):
    body = urlencode(ELEMENTOR_SIMPLE)
    for delivery in ("x-1", "x-2", ""):
        headers = {"X-Intralog-Delivery": delivery} if delivery else {}
        response = post(token_url(source), body, "application/x-www-form-urlencoded", **headers)
        assert response.status_code == (202 if delivery == "x-1" else 200)
    assert WebhookDelivery.objects.count() == 1
    assert Lead.objects.count() == 1


def test_a_body_nested_ten_thousand_levels_is_quarantined_with_its_reason(source, post):
    body = b"[" * 10_000 + b"]" * 10_000
    response = post(signed_url(source), body, "application/json", **signed_headers(source, body, "deep"))
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.PROCESSED and delivery.attempts == 1
    held = Submission.objects.get(source=source)
    assert held.state == Submission.State.QUARANTINED
    assert "nested too deeply" in held.reason
    assert not Lead.objects.exists()


def test_an_unclosed_deep_body_is_quarantined_too(source, post):
    body = b"[" * 10_000
    post(token_url(source), body, "application/json")
    assert WebhookDelivery.objects.get().state == WebhookDelivery.State.PROCESSED
    assert Submission.objects.get(source=source).state == Submission.State.QUARANTINED


def test_a_body_deeper_than_the_limit_is_quarantined_with_the_limit(source, post):
    body = json.dumps({"form_id": 7, "fields": {"Email": "x@example.com"}, "meta": [[[[[[]]]]]]})
    nested = json.loads(body)
    for _ in range(MAX_JSON_DEPTH):
        nested = {"form_id": 7, "inner": nested}
    body = json.dumps(nested).encode()
    post(signed_url(source), body, "application/json", **signed_headers(source, body, "deep-2"))
    held = Submission.objects.get(source=source)
    assert held.state == Submission.State.QUARANTINED
    assert f"more than {MAX_JSON_DEPTH} levels" in held.reason
    assert WebhookDelivery.objects.get().state == WebhookDelivery.State.PROCESSED
