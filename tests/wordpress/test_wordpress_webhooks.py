"""Webhooks: Elementor (simple/advanced), Gravity Forms and generic JSON; proofs, replays, size, queue down."""

import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import redis
from django.urls import reverse

from crm.models import Lead
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from tests.fake_wordpress import run_queued_jobs
from wordpress.models import SourceForm, Submission, WebhookDelivery, WordPressSource
from wordpress.services import rotate_webhook_token
from wordpress.sync import sync_source
from wordpress.webhooks import sign, sweep_deliveries


@pytest.fixture
def source(brands):
    source = WordPressSource.objects.create(
        name="Sitio INTRALOG", slug="intralog", shape="collection", url="http://127.0.0.1:9/none"
    )
    SourceForm.objects.create(source=source, form_id="3", brand=brands["intralog"])
    SourceForm.objects.create(source=source, form_id="7", brand=brands["intrapal"])
    return source


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def send(url, body, content_type, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data=body, content_type=content_type, headers=headers)
        run_queued_jobs("high")
        return response

    return send


def token_url(source):
    return reverse("wordpress:webhook_token", args=[source.slug, source.webhook_token])


def signed_url(source):
    return reverse("wordpress:webhook", args=[source.slug])


def signed_headers(source, body, delivery="d-1", timestamp=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Intralog-Signature": sign(source.webhook_secret, timestamp, delivery, body),
        "X-Intralog-Timestamp": timestamp,
        "X-Intralog-Delivery": delivery,
    }


ELEMENTOR_SIMPLE = {
    "Nombre y apellido": "Raúl Sosa",
    "Email": "RAUL@Example.com",
    "Teléfono": "011 15-5555-1234",
    "Me interesa el servicio": "Compra de pallets",
    "Mensaje": "Hola 👋 <b>pallets</b>",
    "form_id": "7",
    "form_name": "Contacto INTRAPAL",
}
ELEMENTOR_ADVANCED = {
    "form[id]": "3",
    "form[name]": "Contacto",
    "fields[name][title]": "Nombre y apellido",
    "fields[name][value]": "Lucía Gómez",
    "fields[name][raw_value]": "Lucía Gómez",
    "fields[email][title]": "Email",
    "fields[email][value]": "lucia@example.com",
    "fields[empresa][title]": "Razón social",
    "fields[empresa][value]": "Agro Pampa",
    "fields[cargo][title]": "Cargo",
    "fields[cargo][value]": "Compras",
    "meta[date][value]": "3 junio, 2025",
    "meta[time][value]": "18:13",
    "meta[page_url][value]": "https://intralog.example/contacto/?utm_source=Google&utm_campaign={campaignname}",
    "meta[user_agent][value]": "Mozilla/5.0",
    "meta[remote_ip][value]": "190.2.1.7",
}


def test_elementor_simple_with_url_token(source, post):
    body = urlencode(ELEMENTOR_SIMPLE)
    response = post(token_url(source), body, "application/x-www-form-urlencoded")
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert bytes(delivery.body) == body.encode() and delivery.authenticated_by == "token"
    assert delivery.state == WebhookDelivery.State.PROCESSED
    lead = Lead.objects.get(external_source=source.external_key)
    assert lead.brand.code == "intrapal" and lead.external_form == "7"
    assert lead.email == "raul@example.com" and lead.phone_e164 == "+5491155551234"
    assert lead.message == "Hola 👋 <b>pallets</b>"
    assert lead.service and lead.service.name == "Compra de pallets"
    assert Submission.objects.get(lead=lead).origin == Submission.Origin.WEBHOOK


def test_elementor_advanced_mode(source, post):
    response = post(token_url(source), urlencode(ELEMENTOR_ADVANCED), "application/x-www-form-urlencoded")
    assert response.status_code == 202
    lead = Lead.objects.get(external_source=source.external_key)
    assert lead.contact_name == "Lucía Gómez" and lead.company == "Agro Pampa"
    assert lead.extra["Cargo"] == "Compras"
    assert lead.utm_source == "google" and lead.utm_campaign == ""
    assert lead.extra["_ip"] == "190.2.1.7"


def test_gravity_webhook_uses_form_labels_and_dedupes_with_the_pull(
    brands, fake_wp, make_source, post, fast_retries
):
    source = make_source(fake_wp, "gravity")
    entry_id = sorted(map(int, fake_wp.ids("3")))[0]
    item = fake_wp.gravity_item(next(i for i in fake_wp.submissions["3"] if i["id"] == entry_id))
    response = post(token_url(source), json.dumps(item), "application/json")
    assert response.status_code == 202
    lead = Lead.objects.get(external_source=source.external_key)
    assert lead.external_id == str(entry_id)
    assert lead.contact_name and lead.email
    run = sync_source(source)
    assert run.created == 16 and run.duplicates == 1
    assert Lead.objects.filter(external_source=source.external_key, external_id=str(entry_id)).count() == 1


def test_gravity_webhook_without_labels_keeps_field_ids(source, post):
    body = json.dumps(
        {
            "id": "55",
            "form_id": "3",
            "1.3": "Ana",
            "3": "ana@example.com",
            "date_created": "2025-06-03 19:14:02",
        }
    )
    assert post(token_url(source), body, "application/json").status_code == 202
    lead = Lead.objects.get(external_source=source.external_key, external_id="55")
    assert lead.extra["3"] == "ana@example.com"


def test_gravity_webhook_as_form_data(source, post):
    body = urlencode({"id": "56", "form_id": "7", "1.3": "Ana", "1.6": "Paz", "3": "ana@example.com"})
    assert post(token_url(source), body, "application/x-www-form-urlencoded").status_code == 202
    lead = Lead.objects.get(external_source=source.external_key, external_id="56")
    assert lead.brand.code == "intrapal" and lead.extra["3"] == "ana@example.com"


def test_generic_json_signed(source, post):
    body = json.dumps(
        {"form_id": 3, "id": 901, "fields": {"Nombre y apellido": "José Pérez", "Teléfono": "0351 4974776"}}
    ).encode()
    response = post(signed_url(source), body, "application/json", **signed_headers(source, body))
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.delivery_id == "d-1" and delivery.authenticated_by == "signature"
    lead = Lead.objects.get(external_source=source.external_key, external_id="901")
    assert lead.phone_e164 == "+543514974776"


@pytest.mark.parametrize(
    "tamper",
    [
        "bad_signature",
        "other_secret",
        "stale_timestamp",
        "future_timestamp",
        "no_delivery",
        "no_signature",
        "body_changed",
        "delivery_changed",
    ],
)
def test_signature_failures_are_401_and_store_nothing(source, post, tamper):
    body = json.dumps({"form_id": 3, "id": 1, "fields": {"Email": "a@example.com"}}).encode()
    headers = signed_headers(source, body)
    sent = body
    if tamper == "bad_signature":
        headers["X-Intralog-Signature"] = "sha256=" + "0" * 64
    elif tamper == "other_secret":
        headers["X-Intralog-Signature"] = sign(
            "not-the-secret", headers["X-Intralog-Timestamp"], headers["X-Intralog-Delivery"], body
        )
    elif tamper == "stale_timestamp":
        headers = signed_headers(source, body, timestamp=int(time.time()) - 301)
    elif tamper == "future_timestamp":
        headers = signed_headers(source, body, timestamp=int(time.time()) + 400)
    elif tamper == "no_delivery":
        del headers["X-Intralog-Delivery"]
    elif tamper == "no_signature":
        del headers["X-Intralog-Signature"]
    elif tamper == "body_changed":
        sent = body.replace(b"a@example", b"b@example")
    elif tamper == "delivery_changed":
        headers["X-Intralog-Delivery"] = "d-2"
    response = post(signed_url(source), sent, "application/json", **headers)
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists() and not Lead.objects.exists()


def test_timestamp_within_window_is_accepted(source, post):
    body = b'{"form_id": 3, "id": 2, "fields": {"Email": "b@example.com"}}'
    headers = signed_headers(source, body, timestamp=int(time.time()) - 290)
    assert post(signed_url(source), body, "application/json", **headers).status_code == 202


def test_unknown_or_rotated_token_is_refused(source, post):
    body = urlencode(ELEMENTOR_SIMPLE)
    url = token_url(source)
    assert post(url + "x/", body, "application/x-www-form-urlencoded").status_code == 404
    wrong = reverse("wordpress:webhook_token", args=[source.slug, "A" * 43])
    assert post(wrong, body, "application/x-www-form-urlencoded").status_code == 404
    rotate_webhook_token(source)
    assert post(url, body, "application/x-www-form-urlencoded").status_code == 404
    assert post(token_url(source), body, "application/x-www-form-urlencoded").status_code == 202
    assert WebhookDelivery.objects.count() == 1


def test_unknown_source_is_404(source, post):
    url = reverse("wordpress:webhook_token", args=["nope", source.webhook_token])
    assert post(url, "a=1", "application/x-www-form-urlencoded").status_code == 404


def test_replay_with_same_delivery_id_creates_no_second_lead(source, post):
    body = json.dumps({"form_id": 7, "fields": {"Email": "c@example.com"}}).encode()
    first = post(signed_url(source), body, "application/json", **signed_headers(source, body, "dup-1"))
    replay = post(signed_url(source), body, "application/json", **signed_headers(source, body, "dup-1"))
    assert first.status_code == 202 and replay.status_code == 200
    assert replay.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.count() == 1 and Lead.objects.count() == 1


def test_replay_without_delivery_id_same_body_within_ten_minutes(source, post):
    body = urlencode(ELEMENTOR_SIMPLE)
    assert post(token_url(source), body, "application/x-www-form-urlencoded").status_code == 202
    assert post(token_url(source), body, "application/x-www-form-urlencoded").status_code == 200
    assert Lead.objects.count() == 1
    WebhookDelivery.objects.update(
        received_at=WebhookDelivery.objects.get().received_at - timedelta(minutes=11)
    )
    assert post(token_url(source), body, "application/x-www-form-urlencoded").status_code == 202
    assert WebhookDelivery.objects.count() == 2


def test_body_over_one_megabyte_is_413(source, post):
    body = urlencode({**ELEMENTOR_SIMPLE, "Mensaje": "x" * (1024 * 1024)})
    response = post(token_url(source), body, "application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert not WebhookDelivery.objects.exists()
    just_under = urlencode({**ELEMENTOR_SIMPLE, "Mensaje": "y" * 20_000})
    assert post(token_url(source), just_under, "application/x-www-form-urlencoded").status_code == 202
    assert len(Lead.objects.get().message) == 20_000


def test_queue_down_keeps_the_body_and_the_sweeper_processes_it(source, post, monkeypatch):
    def redis_down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr("wordpress.webhooks.enqueue", redis_down)
    body = urlencode(ELEMENTOR_SIMPLE)
    response = post(token_url(source), body, "application/x-www-form-urlencoded")
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.PENDING and not Lead.objects.exists()
    monkeypatch.undo()
    assert sweep_deliveries(older_than=0) == 1
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.PROCESSED
    assert Lead.objects.count() == 1
    assert sweep_deliveries(older_than=0) == 0


def test_unknown_form_is_quarantined_not_dropped(source, post):
    body = urlencode({**ELEMENTOR_SIMPLE, "form_id": "99"})
    assert post(token_url(source), body, "application/x-www-form-urlencoded").status_code == 202
    held = Submission.objects.get(source=source)
    assert held.state == Submission.State.QUARANTINED and "99" in held.reason
    assert held.payload["Email"] == "RAUL@Example.com"
    assert not Lead.objects.exists()


def test_get_is_not_allowed(source, client):
    assert client.get(token_url(source)).status_code == 405
