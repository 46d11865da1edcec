"""Files contacts send (kept within the size and type limits, downloaded only by those who may see the lead),
who may read and write a lead's conversation, and a burst of webhooks sent twice."""

import itertools
import time

import pytest
from django.urls import reverse

from conversations.models import Message, WebhookDelivery
from crm.models import Lead, LeadEvent
from tests.conversations_support import *  # noqa: F403
from tests.conversations_support import LEAD_PHONE, inbound, post_webhook, text_message
from tests.two_factor_support import sign_in_fully

pytestmark = pytest.mark.usefixtures("whatsapp_env")

PDF = b"%PDF-1.4\n" + b"0" * 2048
_ids = itertools.count(1)


def media_message(kind, media_id, mime_type, filename="", caption=""):
    body = {"id": media_id, "mime_type": mime_type}
    if filename:
        body["filename"] = filename
    if caption:
        body["caption"] = caption
    return {
        "from": LEAD_PHONE.lstrip("+"),
        "id": f"wamid.media{next(_ids)}",
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: body,
    }


def test_a_document_is_kept_and_downloaded_by_who_may_see_the_lead(
    whatsapp_env, make_lead, employee, other_employee, manager, other_manager, marketer, client, committing
):
    lead = make_lead(assignee=employee)
    whatsapp_env["whatsapp"].add_media("media-pdf", PDF, "application/pdf")
    with committing():
        post_webhook(
            client,
            inbound(
                media_message(
                    "document", "media-pdf", "application/pdf", "../../etc/Cotización 2026.pdf", "Adjunto"
                )
            ),
        )
    message = Message.objects.get()
    assert (message.kind, message.media_state, message.media_size, message.body) == (
        "document",
        "stored",
        len(PDF),
        "Adjunto",
    )
    assert message.file_name.startswith("Cotizaci") and "/" not in message.file_name
    url = reverse("conversations:media", args=[message.pk])
    for person, expected in (
        (employee, 200),
        (manager, 200),
        (other_employee, 404),
        (other_manager, 404),
        (marketer, 404),
    ):
        sign_in_fully(client, person)
        response = client.get(url)
        assert response.status_code == expected, person
        if expected == 200:
            assert b"".join(response.streaming_content) == PDF
            assert response["Content-Disposition"].startswith("attachment")
            assert response["X-Content-Type-Options"] == "nosniff"
    client.logout()
    assert client.get(url).status_code == 302  # to the sign-in page
    assert LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.MESSAGE_RECEIVED).note == "Adjunto"


@pytest.mark.parametrize(
    ("mime_type", "declared", "limit", "shown"),
    [
        ("application/pdf", 25 * 1024 * 1024, None, "larger than 16 MB"),
        ("application/pdf", 100, 1024, "larger than 0 MB"),  # said 100 bytes, sent more than the limit
        ("application/x-msdownload", None, None, "files of this type are not accepted"),
    ],
)
def test_files_over_the_limits_are_not_kept(
    mime_type,
    declared,
    limit,
    shown,
    whatsapp_env,
    settings,
    make_lead,
    employee,
    client_for,
    client,
    committing,
):
    if limit:
        settings.CONVERSATIONS_MEDIA_MAX_BYTES = limit
    lead = make_lead(assignee=employee)
    whatsapp_env["whatsapp"].add_media("media-x", PDF, mime_type, declared_size=declared)
    with committing():
        post_webhook(client, inbound(media_message("document", "media-x", mime_type, "x.bin")))
    message = Message.objects.get()
    assert message.media_state == "refused" and not message.media_file
    assert shown in message.error
    html = client_for(employee).get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    assert shown in html
    assert client.get(reverse("conversations:media", args=[message.pk])).status_code == 404


def test_an_image_shows_with_a_download_link(
    whatsapp_env, make_lead, employee, client_for, client, committing
):
    lead = make_lead(assignee=employee)
    whatsapp_env["whatsapp"].add_media("media-img", b"\x89PNG\r\n\x1a\n" + b"1" * 100, "image/png")
    with committing():
        post_webhook(client, inbound(media_message("image", "media-img", "image/png")))
    message = Message.objects.get()
    assert message.media_state == "stored" and message.file_name.endswith(".png")
    html = client_for(employee).get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    assert reverse("conversations:media", args=[message.pk]) in html


# Access ---------------------------------------------------------------------------------------------


@pytest.fixture
def conversation(whatsapp_env, make_lead, employee, client, committing):
    lead = make_lead(assignee=employee)
    whatsapp_env["whatsapp"].add_media("media-pdf", PDF, "application/pdf")
    whatsapp_env["whatsapp"].reject_template("follow_up")
    with committing():
        post_webhook(client, inbound(text_message("Mensaje privado del lead")))
        post_webhook(client, inbound(media_message("document", "media-pdf", "application/pdf", "a.pdf")))
    from conversations import services

    with committing():
        services.send_template(lead, employee, whatsapp_env["intralog"].templates.get(name="follow_up"))
    failed = Message.objects.get(status="failed")
    stored = Message.objects.get(media_state="stored")
    return {"lead": lead, "failed": failed, "stored": stored}


ROLES = {
    "admin_user": True,
    "manager": True,
    "employee": True,
    "other_manager": False,
    "other_employee": False,
    "marketer": False,
}


@pytest.mark.parametrize(("role", "allowed"), ROLES.items())
def test_only_who_may_act_on_the_lead_reads_or_writes_its_conversation(
    role, allowed, request, conversation, whatsapp_env, client, committing
):
    sign_in_fully(client, request.getfixturevalue(role))
    lead = conversation["lead"]
    page = client.get(reverse("crm_leads:inspect", args=[lead.pk]))
    messages = client.get(reverse("conversations:messages", args=[lead.pk]))
    media = client.get(reverse("conversations:media", args=[conversation["stored"].pk]))
    whatsapp_env["whatsapp"].rejected_templates.clear()
    before = len(whatsapp_env["whatsapp"].sent_messages)
    template = whatsapp_env["intralog"].templates.get(name="first_contact")
    with committing():
        sent = client.post(reverse("conversations:send", args=[lead.pk]), {"template": template.pk})
        retried = client.post(reverse("conversations:retry", args=[conversation["failed"].pk]))
    after = len(whatsapp_env["whatsapp"].sent_messages)
    if allowed:
        assert page.status_code == 200 and "Mensaje privado del lead" in page.content.decode()
        assert messages.status_code == 200 and "Mensaje privado del lead" in messages.content.decode()
        assert media.status_code == 200
        assert (sent.status_code, retried.status_code, after - before) == (302, 302, 2)
    else:
        assert page.status_code in (302, 403, 404)
        assert "Mensaje privado del lead" not in page.content.decode()
        assert (messages.status_code, media.status_code) == (404, 404)
        assert (sent.status_code, retried.status_code, after - before) == (404, 404, 0)
        assert Message.objects.filter(direction="out").count() == 1


def test_get_on_post_urls_and_post_on_get_urls_are_refused(conversation, employee, client):
    sign_in_fully(client, employee)
    lead = conversation["lead"]
    assert client.get(reverse("conversations:send", args=[lead.pk])).status_code == 405
    assert client.get(reverse("conversations:retry", args=[conversation["failed"].pk])).status_code == 405
    assert client.post(reverse("conversations:messages", args=[lead.pk])).status_code == 405


# Burst ----------------------------------------------------------------------------------------------


def test_a_burst_of_webhooks_sent_twice_loses_and_repeats_nothing(
    whatsapp_env, make_lead, employee, client, committing
):
    """200 messages from 40 numbers (20 with a lead, 20 new), each webhook sent twice as it was and once
    more wrapped with another message: 200 messages, one per provider id, 20 new leads."""
    known = [f"+54911555{number:05d}" for number in range(20)]
    for phone in known:
        make_lead(f"Lead {phone}", assignee=employee, phone=phone)
    senders = known + [f"+54911666{number:05d}" for number in range(20)]
    bodies = []
    for index in range(200):
        message = text_message(
            f"Mensaje {index}", sender=senders[index % len(senders)], message_id=f"wamid.burst{index}"
        )
        bodies.append(inbound(message))
    with committing():
        for index, body in enumerate(bodies):
            assert post_webhook(client, body).status_code == 200
            assert post_webhook(client, body).status_code == 200
            if index:
                again = bodies[index - 1]["entry"][0]["changes"][0]["value"]["messages"][0]
                pair = inbound(again, body["entry"][0]["changes"][0]["value"]["messages"][0])
                assert post_webhook(client, pair).status_code == 200
    assert Message.objects.count() == 200
    assert set(Message.objects.values_list("provider_id", flat=True)) == {
        f"wamid.burst{i}" for i in range(200)
    }
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.MESSAGE_RECEIVED).count() == 200
    assert Lead.objects.count() == 40
    assert WebhookDelivery.objects.filter(state="pending").count() == 0
    for phone in senders:
        assert Message.objects.filter(lead__phone_e164=phone).count() == 5
