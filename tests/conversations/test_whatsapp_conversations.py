"""WhatsApp with leads over real HTTP to the fake Cloud API: templates and free text by the 24-hour window,
refusals and retries, inbound messages matched to leads (or made leads), statuses, opt-out, escaping."""

import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from alerts.models import Notification, Trigger
from conversations import services
from conversations.models import Message, WebhookDelivery
from crm.models import AssignmentRule, Lead, LeadEvent
from tests.conversations_support import *  # noqa: F403
from tests.conversations_support import (
    INTRAPAL_NUMBER_ID,
    LEAD_PHONE,
    inbound,
    post_webhook,
    status_payload,
    text_message,
)
from tests.page_text import visible_text

pytestmark = pytest.mark.usefixtures("whatsapp_env")


def lead_page(lead):
    return reverse("crm_leads:inspect", args=[lead.pk])


def send(client, lead, **data):
    return client.post(reverse("conversations:send", args=[lead.pk]), data)


def template_id(env, name="first_contact"):
    return env["intralog"].templates.get(name=name).pk


def test_template_while_the_window_is_closed_then_free_text_once_the_lead_writes(
    whatsapp_env, make_lead, employee, client_for, client, committing
):
    employee.first_name, employee.last_name = "Elena", "Vendedora"
    employee.save()
    lead = make_lead(assignee=employee)
    rep = client_for(employee)
    html = rep.get(lead_page(lead)).content.decode()
    assert 'data-conversation-window="closed"' in html and "Primer contacto" in html
    assert "data-conversation-text" not in html

    with committing():
        response = send(rep, lead, text="Hola, ¿cómo estás?")
    assert response.status_code == 302
    assert Message.objects.count() == 0
    assert not whatsapp_env["whatsapp"].sent_messages

    with committing():
        send(rep, lead, template=template_id(whatsapp_env))
    (sent,) = whatsapp_env["whatsapp"].sent_messages
    assert sent["phone_number_id"] == "100200300"
    assert sent["to"] == LEAD_PHONE.lstrip("+")
    assert sent["template"]["name"] == "first_contact"
    parameters = [item["text"] for item in sent["template"]["components"][0]["parameters"]]
    assert parameters == ["Ana Pérez", "INTRALOG", "Elena Vendedora"]
    message = Message.objects.get()
    assert (message.status, message.kind, message.sent_by) == ("sent", "template", employee)
    assert (
        message.body
        == "Hola Ana Pérez, te escribimos de INTRALOG. Soy Elena Vendedora, ¿cuándo podemos hablar?"
    )
    assert message.provider_id.startswith("wamid.fake")

    lead.refresh_from_db()
    attempt = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.CONTACT_ATTEMPT)
    assert (attempt.actor, attempt.channel, attempt.data["message_id"]) == (employee, "whatsapp", message.pk)
    assert message.sent_at <= lead.first_contacted_at <= attempt.created_at

    with committing():
        assert post_webhook(client, inbound(text_message("Hola! Sí, llamame mañana"))).status_code == 200
    html = rep.get(lead_page(lead)).content.decode()
    assert 'data-conversation-window="open"' in html and "Hola! Sí, llamame mañana" in html

    with committing():
        send(rep, lead, text="Perfecto, te llamo a las 10")
    last = whatsapp_env["whatsapp"].sent_messages[-1]
    assert (last["type"], last["text"]["body"]) == ("text", "Perfecto, te llamo a las 10")
    assert list(Message.objects.values_list("direction", "status")) == [
        ("out", "sent"),
        ("in", "received"),
        ("out", "sent"),
    ]
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CONTACT_ATTEMPT).count() == 2


def test_a_template_the_api_rejects_shows_its_error_and_can_be_sent_again(
    whatsapp_env, make_lead, employee, client_for, committing
):
    lead = make_lead(assignee=employee)
    rep = client_for(employee)
    whatsapp_env["whatsapp"].reject_template("first_contact")
    with committing():
        send(rep, lead, template=template_id(whatsapp_env))
    message = Message.objects.get()
    assert (message.status, message.error_code) == ("failed", "132001")
    assert "WhatsApp refused the message (error 132001)" in message.error
    lead.refresh_from_db()
    assert lead.first_contacted_at is None
    html = rep.get(lead_page(lead)).content.decode()
    assert "error 132001" in html and f'data-message-retry="{message.pk}"' in html

    whatsapp_env["whatsapp"].rejected_templates.clear()
    with committing():
        response = rep.post(reverse("conversations:retry", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.error, message.attempts) == ("sent", "", 2)
    assert len(whatsapp_env["whatsapp"].sent_messages) == 2
    with committing():
        rep.post(reverse("conversations:retry", args=[message.pk]))
    assert len(whatsapp_env["whatsapp"].sent_messages) == 2, "a sent message is not sent again"


def test_inbound_goes_to_the_original_of_the_brand_and_alerts_its_assignee(
    whatsapp_env, make_lead, employee, other_employee, intrapal_employee, client, committing
):
    original = make_lead("Ana Original", assignee=employee)
    repeat = make_lead("Ana Repetida", assignee=other_employee)
    assert repeat.duplicate_of_id == original.pk
    intrapal = make_lead("Ana Intrapal", assignee=intrapal_employee, brand_code="intrapal")
    with committing():
        post_webhook(client, inbound(text_message("Quiero una cotización")))
        post_webhook(
            client, inbound(text_message("Y para Intrapal también"), phone_number_id=INTRAPAL_NUMBER_ID)
        )
    assert list(Message.objects.values_list("lead_id", "body")) == [
        (original.pk, "Quiero una cotización"),
        (intrapal.pk, "Y para Intrapal también"),
    ]
    event = LeadEvent.objects.get(lead=original, kind=LeadEvent.Kind.MESSAGE_RECEIVED)
    assert (event.channel, event.note, event.actor) == ("whatsapp", "Quiero una cotización", None)
    alerts = Notification.objects.filter(trigger=Trigger.MESSAGE_RECEIVED)
    assert {(alert.lead_id, alert.recipient_id) for alert in alerts} == {
        (original.pk, employee.pk),
        (intrapal.pk, intrapal_employee.pk),
    }
    assert not LeadEvent.objects.filter(lead=repeat, kind=LeadEvent.Kind.MESSAGE_RECEIVED).exists()


def test_a_message_to_a_lead_merged_away_reaches_the_survivor(
    whatsapp_env, make_lead, manager, employee, client, committing
):
    from crm.services import merge_leads

    survivor = make_lead("Sobreviviente", assignee=employee, phone="+54 9 11 4444-0000")
    merged = make_lead("Fusionada", assignee=employee)
    merge_leads(merged, survivor, manager)
    with committing():
        post_webhook(client, inbound(text_message("Hola")))
    assert Message.objects.get().lead_id == survivor.pk


def test_an_unknown_number_becomes_a_lead_through_the_intake(
    whatsapp_env, brands, employee, client, committing
):
    AssignmentRule.objects.create(name="Todo a Emp", brand=brands["intralog"], mode="fixed", owner=employee)
    with committing():
        post_webhook(
            client,
            inbound(text_message("Hola, necesito un depósito", sender="+5493514567890"), name="Juan Nuevo"),
        )
    lead = Lead.objects.get()
    assert (lead.contact_name, lead.phone_e164, lead.source.key, lead.brand.code) == (
        "Juan Nuevo",
        "+5493514567890",
        "whatsapp",
        "intralog",
    )
    assert lead.message == "Hola, necesito un depósito"
    assert lead.assignee == employee
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CREATED).exists()
    assert Message.objects.get().lead == lead
    with committing():
        post_webhook(client, inbound(text_message("¿Me contestan?", sender="+5493514567890")))
    assert Lead.objects.count() == 1 and Message.objects.filter(lead=lead).count() == 2


def test_webhook_retries_store_each_message_once(whatsapp_env, make_lead, employee, client, committing):
    lead = make_lead(assignee=employee)
    message = text_message("Una sola vez", message_id="wamid.retry-1")
    with committing():
        first = post_webhook(client, inbound(message))
        replay = post_webhook(client, inbound(message))
        rewrapped = post_webhook(client, inbound(message, name="Otro sobre"))
    assert [response.status_code for response in (first, replay, rewrapped)] == [200, 200, 200]
    assert replay.json()["replay"] is True and rewrapped.json()["replay"] is False
    assert WebhookDelivery.objects.count() == 2
    assert Message.objects.count() == 1
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.MESSAGE_RECEIVED).count() == 1
    assert WebhookDelivery.objects.order_by("pk").last().result["repeats"] == 1


def test_unknown_phone_number_id_is_kept_and_ignored_with_its_reason(whatsapp_env, client, committing):
    payload = inbound(text_message("¿Hola?"), phone_number_id="555000")
    with committing():
        response = post_webhook(client, payload)
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.reason) == ("ignored", "unknown_phone_number_id:555000")
    assert json.loads(bytes(delivery.body)) == payload
    assert Lead.objects.count() == 0 and Message.objects.count() == 0


def test_unsigned_or_wrongly_signed_webhooks_are_refused_and_not_kept(
    whatsapp_env, make_lead, client, committing
):
    make_lead()
    payload = inbound(text_message("falso"))
    with committing():
        assert post_webhook(client, payload, secret=None).status_code == 403
        assert post_webhook(client, payload, secret="not-the-secret").status_code == 403
    assert WebhookDelivery.objects.count() == 0 and Message.objects.count() == 0


def test_invalid_json_is_kept_and_answered_400(whatsapp_env, client, committing):
    with committing():
        assert post_webhook(client, None, raw=b"{not json").status_code == 400
    assert WebhookDelivery.objects.get().state == "ignored"


@pytest.mark.parametrize("reply", ["BAJA", "  baja ", "Bája.", "STOP", "stop!"])
def test_baja_or_stop_opts_the_lead_out_and_nothing_more_is_sent(
    reply, whatsapp_env, make_lead, employee, client_for, client, committing
):
    lead = make_lead(assignee=employee)
    rep = client_for(employee)
    with committing():
        send(rep, lead, template=template_id(whatsapp_env))
    # Queued before the reply arrives; its job runs after it (the block above has committed, this has not).
    queued_before = services.send_template(
        lead, employee, whatsapp_env["intralog"].templates.get(name="follow_up")
    )
    sent_before = len(whatsapp_env["whatsapp"].sent_messages)
    with committing():
        post_webhook(client, inbound(text_message(reply)))
    lead.refresh_from_db()
    assert lead.opted_out_at is not None
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.OPTED_OUT).count() == 1
    html = rep.get(lead_page(lead)).content.decode()
    assert "asked for no more messages" in html and "data-conversation-template" not in html
    with committing():
        send(rep, lead, text="¿Seguro?")
        send(rep, lead, template=template_id(whatsapp_env))
    with pytest.raises(ValidationError):
        services.send_template(lead, employee, whatsapp_env["intralog"].templates.first())
    services.deliver(queued_before.pk)
    queued_before.refresh_from_db()
    assert (queued_before.status, queued_before.error_code) == ("failed", "opted_out")
    assert len(whatsapp_env["whatsapp"].sent_messages) == sent_before


def test_a_word_like_baja_inside_a_sentence_does_not_opt_out(whatsapp_env, make_lead, client, committing):
    lead = make_lead()
    with committing():
        post_webhook(client, inbound(text_message("¿Tienen baja de precios?")))
    lead.refresh_from_db()
    assert lead.opted_out_at is None


def test_sent_delivered_read_and_failed_show_on_each_message(
    whatsapp_env, make_lead, employee, client_for, client, committing
):
    lead = make_lead(assignee=employee)
    rep = client_for(employee)
    with committing():
        send(rep, lead, template=template_id(whatsapp_env))
        send(rep, lead, template=template_id(whatsapp_env, "follow_up"))
    first, second = Message.objects.order_by("pk")
    with committing():
        for state in ("delivered", "read", "delivered"):
            post_webhook(
                client, status_payload(first.provider_id, state, timestamp=str(int(time.time()) + 1))
            )
        post_webhook(
            client,
            status_payload(
                second.provider_id,
                "failed",
                errors=[
                    {
                        "code": 131026,
                        "title": "Message undeliverable",
                        "error_data": {"details": "No WhatsApp"},
                    }
                ],
            ),
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, bool(first.delivered_at), bool(first.read_at)) == ("read", True, True)
    assert (second.status, second.error_code, second.error) == ("failed", "131026", "No WhatsApp")
    html = rep.get(reverse("conversations:messages", args=[lead.pk])).content.decode()
    assert f'data-message="{first.pk}" data-message-status="read"' in html
    assert f'data-message="{second.pk}" data-message-status="failed"' in html and "No WhatsApp" in html


def test_html_in_messages_is_shown_as_text(whatsapp_env, make_lead, employee, client_for, client, committing):
    lead = make_lead(assignee=employee)
    with committing():
        post_webhook(client, inbound(text_message('<script>alert("x")</script><b>hola</b>')))
    html = client_for(employee).get(lead_page(lead)).content.decode()
    assert '<script>alert("x")</script>' not in html and "<b>hola</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;hola&lt;/b&gt;" in html
    assert '<script>alert("x")</script><b>hola</b>' in visible_text(html)


def test_the_conversation_is_on_the_timeline_too(
    whatsapp_env, make_lead, employee, client_for, client, committing
):
    lead = make_lead(assignee=employee)
    with committing():
        post_webhook(client, inbound(text_message("Mensaje para el historial")))
    html = client_for(employee).get(lead_page(lead), {"kind": "contacts"}).content.decode()
    timeline = html.split('id="crm-lead-timeline"')[1]
    assert "Message received" in timeline and "Mensaje para el historial" in timeline


def test_a_lead_without_a_mobile_or_a_brand_without_a_number_says_why(
    whatsapp_env, make_lead, employee, client_for
):
    rep = client_for(employee)
    landline = make_lead(assignee=employee, phone="+54 11 4444-5555")
    assert "no mobile number WhatsApp can reach" in visible_text(
        rep.get(lead_page(landline)).content.decode()
    )
    whatsapp_env["intralog"].delete()
    lead = make_lead(assignee=employee, phone="+54 9 11 6666-7777")
    assert "The brand has no WhatsApp number set up" in visible_text(
        rep.get(lead_page(lead)).content.decode()
    )


def test_sending_with_a_brand_token_from_the_environment(
    whatsapp_env, make_lead, intrapal_employee, client_for, committing
):
    from conversations.models import WhatsAppTemplate

    WhatsAppTemplate.objects.create(
        number=whatsapp_env["intrapal"], label="Hola", name="hola", parameters="name"
    )
    lead = make_lead(assignee=intrapal_employee, brand_code="intrapal")
    with committing():
        send(client_for(intrapal_employee), lead, template=whatsapp_env["intrapal"].templates.get().pk)
    record = whatsapp_env["whatsapp"].requests[-1]
    assert record["authorization"] == "Bearer intrapal-token"
    assert record["path"].endswith(f"/{INTRAPAL_NUMBER_ID}/messages")


def test_bad_send_input_is_a_message_not_an_error(whatsapp_env, make_lead, employee, client_for, committing):
    lead = make_lead(assignee=employee)
    rep = client_for(employee)
    with committing():
        for data in (
            {"template": "abc"},
            {"template": "999999"},
            {"template": "-1"},
            {"text": ""},
            {"text": "x" * 5000},
        ):
            response = send(rep, lead, **data)
            assert response.status_code == 302, data
    assert Message.objects.count() == 0
