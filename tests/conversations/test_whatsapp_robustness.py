"""WhatsApp with leads when things go wrong, over real HTTP to the fake Cloud API and the signed webhook:
passing errors retried with backoff, refusals kept with a manual retry, statuses read before the send job
stored the id, sends left "sending" by a stopped worker, webhooks sent again, replayed or misaddressed."""

import json
import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conversations import inbound as webhooks
from conversations import services, statuses
from conversations.models import EarlyStatus, Message, WebhookDelivery
from core import whatsapp as cloud_api
from crm.models import Lead, LeadEvent
from tests.conversations_support import *  # noqa: F403
from tests.conversations_support import inbound as inbound_body
from tests.conversations_support import post_webhook, status_payload, text_message
from tests.page_text import visible_text

pytestmark = pytest.mark.usefixtures("whatsapp_env")


def send_template(client, lead, env, name="first_contact"):
    template = env["intralog"].templates.get(name=name)
    return client.post(reverse("conversations:send", args=[lead.pk]), {"template": template.pk})


def message_requests(fake):
    return [record for record in fake.requests if record["path"].endswith("/messages")]


def attempts_logged(lead):
    return LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CONTACT_ATTEMPT).count()


def later(message, seconds=1):
    message.refresh_from_db()
    return message.next_attempt_at + timedelta(seconds=seconds)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_passing_errors_are_retried_with_backoff_until_sent_once(
    whatsapp_env, make_lead, employee, client_for, committing
):
    fake = whatsapp_env["whatsapp"]
    lead = make_lead(assignee=employee)
    rep = client_for(employee)
    fake.fail_next((500, 1), (429, 130429), (400, 131056))
    with committing():
        send_template(rep, lead, whatsapp_env)
    message = Message.objects.get()
    first_wait = message.next_attempt_at - timezone.now()
    assert (message.status, message.error_code, message.attempts) == ("queued", "1", 1)
    assert timedelta(seconds=10) < first_wait <= timedelta(seconds=15)
    html = rep.get(reverse("conversations:messages", args=[lead.pk])).content.decode()
    assert f'data-message-retrying="{message.pk}"' in html
    assert "Trying again automatically" in visible_text(html)

    with committing():
        assert services.resume(timezone.now())["queued"] == 0, "not due yet"
    assert len(message_requests(fake)) == 1

    for expected_code, expected_wait in (("130429", 30), ("131056", 60)):
        with committing():
            services.resume(later(message))
        message.refresh_from_db()
        assert (message.status, message.error_code) == ("queued", expected_code)
        wait = message.next_attempt_at - timezone.now()
        assert timedelta(seconds=expected_wait - 5) < wait <= timedelta(seconds=expected_wait)

    with committing():
        services.resume(later(message))
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error_code, message.error) == ("sent", 4, "", "")
    assert message.provider_id.startswith("wamid.fake") and message.next_attempt_at is None
    assert len(message_requests(fake)) == 4
    assert attempts_logged(lead) == 1
    with committing():
        services.resume(timezone.now() + timedelta(hours=1))
    assert len(message_requests(fake)) == 4, "a sent message is not sent again"


def test_a_network_error_is_retried_and_too_many_passing_errors_fail_with_a_manual_retry(
    whatsapp_env, make_lead, employee, client_for, committing, settings
):
    fake = whatsapp_env["whatsapp"]
    settings.CONVERSATIONS_SEND_MAX_ATTEMPTS = 3
    api = settings.WHATSAPP_API_BASE_URL
    settings.WHATSAPP_API_BASE_URL = f"http://127.0.0.1:{closed_port()}/v21.0"
    lead = make_lead(assignee=employee)
    rep = client_for(employee)
    with committing():
        send_template(rep, lead, whatsapp_env)
    message = Message.objects.get()
    assert (message.status, message.error_code) == ("queued", "network")
    assert message.error == "WhatsApp could not be reached."

    settings.WHATSAPP_API_BASE_URL = api
    fake.fail_next((503, 2), (502, 2))
    for _ in range(2):
        with committing():
            services.resume(later(message))
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error_code) == ("failed", 3, "2")
    assert "WhatsApp refused the message (error 2)" in message.error
    assert message.next_attempt_at is None
    with committing():
        services.resume(timezone.now() + timedelta(days=1))
    assert Message.objects.get().status == "failed", "the periodic job does not send failed messages"
    html = rep.get(reverse("conversations:messages", args=[lead.pk])).content.decode()
    assert f'data-message-retry="{message.pk}"' in html

    with committing():
        rep.post(reverse("conversations:retry", args=[message.pk]))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 4)
    assert len(message_requests(fake)) == 3
    assert attempts_logged(lead) == 1


def test_a_rejected_template_is_not_retried_automatically(
    whatsapp_env, make_lead, employee, client_for, committing
):
    fake = whatsapp_env["whatsapp"]
    fake.reject_template("first_contact")
    lead = make_lead(assignee=employee)
    with committing():
        send_template(client_for(employee), lead, whatsapp_env)
    message = Message.objects.get()
    assert (message.status, message.error_code, message.next_attempt_at) == ("failed", "132001", None)
    assert "template name (first_contact) does not exist" in message.error
    with committing():
        services.resume(timezone.now() + timedelta(days=1))
    assert len(message_requests(fake)) == 1
    assert Message.objects.get().status == "failed"


def _status_during_send(monkeypatch, client, state="delivered", with_callback=True):
    """Post the status webhook the API sends for the message it just took, after the API answered and before
    the send job stores the id (the race), and read it at once as its job would."""
    real_accepted = statuses.accepted
    posted = []

    def accepted_after_the_webhook(message_id, provider_id, *args, **kwargs):
        if not posted:
            posted.append(provider_id)
            sent = message_requests(client.fake)[-1]["json"]
            extra = {"biz_opaque_callback_data": sent["biz_opaque_callback_data"]} if with_callback else {}
            response = post_webhook(client, status_payload(provider_id, state, **extra))
            webhooks.process_delivery(response.json()["delivery"])
        return real_accepted(message_id, provider_id, *args, **kwargs)

    monkeypatch.setattr(statuses, "accepted", accepted_after_the_webhook)
    return posted


@pytest.mark.parametrize("with_callback", [True, False])
def test_a_status_read_before_the_send_job_stored_the_id_is_applied(
    with_callback, whatsapp_env, make_lead, employee, client_for, client, committing, monkeypatch
):
    lead = make_lead(assignee=employee)
    client.fake = whatsapp_env["whatsapp"]
    posted = _status_during_send(monkeypatch, client, with_callback=with_callback)
    message = services.send_template(lead, employee, whatsapp_env["intralog"].templates.first())
    services.deliver(message.pk)
    message.refresh_from_db()
    assert posted == [message.provider_id]
    assert (message.status, bool(message.delivered_at)) == ("delivered", True)
    assert EarlyStatus.objects.count() == 0
    assert attempts_logged(lead) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.result["statuses"]) == ("processed", int(with_callback))


def test_a_kept_status_is_applied_by_the_periodic_job_when_the_send_finished_meanwhile(
    whatsapp_env, make_lead, employee, client, committing
):
    lead = make_lead(assignee=employee)
    message = services.send_template(lead, employee, whatsapp_env["intralog"].templates.first())
    Message.objects.filter(pk=message.pk).update(status="sending")
    with committing():
        post_webhook(client, status_payload("wamid.early-1", "read"))
    assert EarlyStatus.objects.get().provider_id == "wamid.early-1"
    Message.objects.filter(pk=message.pk).update(status="sent", provider_id="wamid.early-1")
    with committing():
        counts = services.resume()
    assert counts["early_applied"] == 1
    message.refresh_from_db()
    assert message.status == "read" and EarlyStatus.objects.count() == 0


def test_statuses_of_messages_not_ours_are_not_kept_when_nothing_is_being_sent(
    whatsapp_env, client, committing
):
    with committing():
        post_webhook(client, status_payload("wamid.staff-alert", "delivered"))
    assert EarlyStatus.objects.count() == 0
    EarlyStatus.objects.create(provider_id="wamid.old", status={"status": "sent"})
    EarlyStatus.objects.update(received_at=timezone.now() - timedelta(days=3))
    assert services.resume()["early_purged"] == 1


def _claimed_then_stopped(message):
    """What a worker leaves when it stops after claiming a message (the claim as ``deliver`` makes it)."""
    Message.objects.filter(pk=message.pk).update(
        status="sending", attempts=1, next_attempt_at=timezone.now() + services.sending_lease()
    )
    message.refresh_from_db()
    return message


def test_a_send_stopped_before_the_api_call_is_sent_once_by_the_periodic_job(
    whatsapp_env, make_lead, employee, committing
):
    fake = whatsapp_env["whatsapp"]
    lead = make_lead(assignee=employee)
    message = _claimed_then_stopped(
        services.send_template(lead, employee, whatsapp_env["intralog"].templates.first())
    )
    with committing():
        assert services.resume()["requeued"] == 0, "its lease has not run out"
        services.deliver(message.pk)
    assert not message_requests(fake), "a job run again does not send a message another worker holds"
    with committing():
        counts = services.resume(later(message))
    assert counts["requeued"] == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(message_requests(fake)) == 1 and attempts_logged(lead) == 1


def test_a_send_stopped_after_the_api_took_it_is_not_sent_twice(
    whatsapp_env, make_lead, employee, client, committing
):
    fake = whatsapp_env["whatsapp"]
    lead = make_lead(assignee=employee)
    message = _claimed_then_stopped(
        services.send_template(lead, employee, whatsapp_env["intralog"].templates.first())
    )
    account = cloud_api.Account(whatsapp_env["intralog"].phone_number_id, "test-token")
    provider_id = cloud_api.post_message(account, services.payload(message, lead.phone_e164.lstrip("+")))
    # The worker stopped here. The API tells what it did with the message, naming it in the callback data.
    callback = message_requests(fake)[-1]["json"]["biz_opaque_callback_data"]
    with committing():
        post_webhook(client, status_payload(provider_id, "sent", biz_opaque_callback_data=callback))
    message.refresh_from_db()
    assert (message.status, message.provider_id) == ("sent", provider_id)
    assert attempts_logged(lead) == 1
    with committing():
        services.resume(timezone.now() + timedelta(hours=1))
        services.deliver(message.pk)
    assert len(message_requests(fake)) == 1
    assert attempts_logged(lead) == 1


def test_a_stopped_send_whose_id_is_known_is_finished_without_sending(
    whatsapp_env, make_lead, employee, committing
):
    fake = whatsapp_env["whatsapp"]
    lead = make_lead(assignee=employee)
    message = _claimed_then_stopped(
        services.send_template(lead, employee, whatsapp_env["intralog"].templates.first())
    )
    Message.objects.filter(pk=message.pk).update(provider_id="wamid.known-1")
    with committing():
        assert services.resume(later(message))["recovered"] == 1
    message.refresh_from_db()
    assert (message.status, message.provider_id) == ("sent", "wamid.known-1")
    assert not message_requests(fake) and attempts_logged(lead) == 1


def test_a_callback_of_an_earlier_attempt_does_not_take_a_later_one(
    whatsapp_env, make_lead, employee, client, committing
):
    lead = make_lead(assignee=employee)
    message = _claimed_then_stopped(
        services.send_template(lead, employee, whatsapp_env["intralog"].templates.first())
    )
    Message.objects.filter(pk=message.pk).update(attempts=2)
    stale = statuses.CALLBACK_PREFIX + f"{message.pk}:1"
    with committing():
        post_webhook(client, status_payload("wamid.old-attempt", "sent", biz_opaque_callback_data=stale))
    message.refresh_from_db()
    assert (message.status, message.provider_id) == ("sending", "")


def test_inbound_retries_replays_and_misaddressed_webhooks(
    whatsapp_env, make_lead, employee, client, committing
):
    lead = make_lead(assignee=employee)
    message = text_message("Hola, una vez", message_id="wamid.once")
    body = json.dumps(inbound_body(message)).encode()
    with committing():
        first = post_webhook(client, None, raw=body)
        replay = post_webhook(client, None, raw=body)
        resent = post_webhook(client, inbound_body(message, name="Reenvío"))
        refused = post_webhook(client, None, raw=body, secret="captured-elsewhere")
        unsigned = post_webhook(client, None, raw=body, secret=None)
        misaddressed = post_webhook(client, inbound_body(text_message("¿Quién?"), phone_number_id="4242"))
    assert [r.status_code for r in (first, replay, resent, refused, unsigned, misaddressed)] == [
        200,
        200,
        200,
        403,
        403,
        200,
    ]
    assert (replay.json()["replay"], resent.json()["replay"]) == (True, False)
    assert Message.objects.filter(lead=lead).count() == 1
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.MESSAGE_RECEIVED).count() == 1
    assert WebhookDelivery.objects.count() == 3
    kept = WebhookDelivery.objects.get(pk=misaddressed.json()["delivery"])
    assert (kept.state, kept.reason) == ("ignored", "unknown_phone_number_id:4242")
    assert json.loads(bytes(kept.body))["entry"][0]["changes"][0]["value"]["messages"][0]["text"] == {
        "body": "¿Quién?"
    }
    assert Lead.objects.count() == 1
    for delivery in WebhookDelivery.objects.all():
        assert webhooks.process_delivery(delivery.pk) is None, "a body is read once"


def test_a_body_whose_job_was_lost_is_read_by_the_sweeper_once(
    whatsapp_env, make_lead, employee, client, monkeypatch
):
    lead = make_lead(assignee=employee)
    monkeypatch.setattr(webhooks, "_enqueue", lambda delivery_id: None)
    response = post_webhook(client, inbound_body(text_message("Llegó igual", message_id="wamid.lost")))
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "pending" and not Message.objects.exists()
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(minutes=2))
    assert webhooks.process_pending() == 1
    assert webhooks.process_pending() == 0
    assert Message.objects.get().lead_id == lead.pk


def test_messages_kept_for_an_unknown_number_are_read_once_a_brand_has_it(
    whatsapp_env, make_lead, intrapal_employee, client, committing
):
    lead = make_lead(assignee=intrapal_employee, brand_code="intrapal")
    with committing():
        post_webhook(
            client,
            inbound_body(
                text_message("Antes de configurar", message_id="wamid.early-number"), phone_number_id="4242"
            ),
        )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.reason) == ("ignored", "unknown_phone_number_id:4242")
    assert not Message.objects.exists()

    number = whatsapp_env["intrapal"]
    number.phone_number_id = "4242"
    with committing():
        number.save()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.reason, delivery.result["messages"]) == ("processed", "", 1)
    assert Message.objects.get().lead_id == lead.pk
    with committing():
        number.save()
    assert Message.objects.count() == 1
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.MESSAGE_RECEIVED).count() == 1
