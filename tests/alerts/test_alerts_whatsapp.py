"""WhatsApp Cloud API over real HTTP to the fake server: error classes, the 24-hour window, the webhook."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification, WhatsAppContact
from tests.alerts_support import *  # noqa: F403
from tests.alerts_support import APP_SECRET, VERIFY_TOKEN

pytestmark = pytest.mark.usefixtures("alerts_env")
Status = Notification.Status
NUMBER = "+5491155551234"


@pytest.fixture
def whatsapp_rule(make_rule, manager):
    manager.whatsapp = NUMBER
    manager.save()
    return make_rule(trigger="new_lead", notify_brand_managers=True, send_email=False, send_whatsapp=True)


@pytest.mark.parametrize(
    ("status", "code", "expected_status", "needs_admin"),
    [
        (429, 130429, Status.PENDING, False),
        (400, 131000, Status.PENDING, False),
        (503, 131016, Status.PENDING, False),
        (500, 1, Status.PENDING, False),
        (401, 190, Status.FAILED, True),
        (403, 10, Status.FAILED, True),
        (403, 200, Status.FAILED, True),
        (400, 100, Status.FAILED, False),
    ],
)
def test_error_classes(alerts_env, whatsapp_rule, new_lead, status, code, expected_status, needs_admin):
    alerts_env["whatsapp"].fail_next((status, code))
    new_lead()
    notification = Notification.objects.get()
    assert notification.status == expected_status
    assert notification.error_code == str(code)
    assert notification.needs_admin is needs_admin
    assert (notification.next_attempt_at is not None) is (expected_status == Status.PENDING)


def test_admins_see_configuration_errors_on_the_dashboard(
    alerts_env, whatsapp_rule, new_lead, admin_user, client_for
):
    alerts_env["whatsapp"].fail_next((401, 190))
    new_lead()
    response = client_for(admin_user).get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    assert "Alerts are failing" in response.content.decode()


def test_template_message_outside_the_window(alerts_env, whatsapp_rule, new_lead):
    new_lead(contact_name="Ana")
    [request] = alerts_env["whatsapp"].requests
    payload = request["json"]
    assert payload["to"] == NUMBER.lstrip("+")
    assert payload["type"] == "template"
    assert payload["template"]["name"] == "lead_alert"
    assert payload["template"]["language"]["code"] == "en"
    texts = [p["text"] for p in payload["template"]["components"][0]["parameters"]]
    assert texts[0] == "New lead"
    assert "Ana" in texts[1]


def test_free_text_inside_the_window(alerts_env, whatsapp_rule, new_lead):
    WhatsAppContact.objects.create(phone=NUMBER, last_inbound_at=timezone.now() - timedelta(hours=2))
    new_lead(contact_name="Ana")
    [request] = alerts_env["whatsapp"].requests
    assert request["json"]["type"] == "text"
    assert "Ana" in request["json"]["text"]["body"]


def test_131047_falls_back_to_the_template(alerts_env, whatsapp_rule, new_lead):
    WhatsAppContact.objects.create(phone=NUMBER, last_inbound_at=timezone.now() - timedelta(hours=2))
    alerts_env["whatsapp"].fail_next((400, 131047))
    new_lead()
    first, second = alerts_env["whatsapp"].requests
    assert first["json"]["type"] == "text"
    assert second["json"]["type"] == "template"
    assert Notification.objects.get().status == Status.SENT


def test_stale_window_means_template(alerts_env, whatsapp_rule, new_lead):
    WhatsAppContact.objects.create(phone=NUMBER, last_inbound_at=timezone.now() - timedelta(hours=25))
    new_lead()
    assert alerts_env["whatsapp"].requests[0]["json"]["type"] == "template"


@pytest.mark.parametrize(("number", "code"), [("", "missing_phone"), ("+54 11 12", "invalid_phone")])
def test_bad_numbers_are_reported_not_retried(alerts_env, whatsapp_rule, new_lead, manager, number, code):
    type(manager).objects.filter(pk=manager.pk).update(whatsapp=number)
    new_lead()
    notification = Notification.objects.get()
    assert (notification.status, notification.error_code) == (Status.FAILED, code)
    assert not alerts_env["whatsapp"].requests


def _signed_post(client, payload, secret=APP_SECRET):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        reverse("alerts:whatsapp_webhook"),
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature},
    )


def _status_payload(message_id, status, **extra):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "statuses": [
                                {"id": message_id, "status": status, "timestamp": "1767225600", **extra}
                            ]
                        },
                    }
                ]
            }
        ],
    }


def test_webhook_handshake(client):
    url = reverse("alerts:whatsapp_webhook")
    ok = client.get(
        url, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42abc"}
    )
    assert (ok.status_code, ok.content) == (200, b"42abc")
    wrong = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42abc"})
    assert wrong.status_code == 403
    assert b"42abc" not in wrong.content


def test_webhook_records_sent_delivered_read_and_failed(alerts_env, whatsapp_rule, new_lead, client):
    new_lead()
    new_lead()
    first, second = Notification.objects.order_by("pk")
    for state in ("sent", "delivered", "read", "delivered"):
        assert _signed_post(client, _status_payload(first.provider_id, state)).status_code == 200
    first.refresh_from_db()
    assert first.status == Status.READ
    assert first.delivered_at and first.read_at
    failed = _status_payload(
        second.provider_id, "failed", errors=[{"code": 131026, "title": "Undeliverable"}]
    )
    assert _signed_post(client, failed).status_code == 200
    second.refresh_from_db()
    assert (second.status, second.error_code) == (Status.FAILED, "131026")


def test_webhook_rejects_bad_signatures(alerts_env, whatsapp_rule, new_lead, client):
    new_lead()
    notification = Notification.objects.get()
    payload = _status_payload(notification.provider_id, "read")
    assert _signed_post(client, payload, secret="wrong").status_code == 403
    unsigned = client.post(
        reverse("alerts:whatsapp_webhook"), data=json.dumps(payload), content_type="application/json"
    )
    assert unsigned.status_code == 403
    notification.refresh_from_db()
    assert notification.status == Status.SENT


def test_inbound_message_opens_the_window(alerts_env, whatsapp_rule, new_lead, client):
    payload = {
        "entry": [
            {
                "changes": [
                    {
                        "value": {
                            "messages": [
                                {
                                    "from": NUMBER.lstrip("+"),
                                    "timestamp": str(int(timezone.now().timestamp())),
                                }
                            ]
                        }
                    }
                ]
            }
        ]
    }
    assert _signed_post(client, payload).status_code == 200
    new_lead()
    assert alerts_env["whatsapp"].requests[0]["json"]["type"] == "text"
