"""Email with leads over real servers: sending through aiosmtpd, replies read from Dovecot over IMAP.

Sending (from the rep or the brand, templates, files kept as the lead's documents, the contact attempt),
replies found by token, by the message they answer and by sender, unknown senders becoming leads, bounces,
a mailbox read twice and a reader stopped mid-run, HTML sanitised, size limits, and who may do what.
"""

import itertools
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification, Trigger
from conversations import mail, mailbox
from conversations.models import Attachment, Conversation, Message
from crm.models import ContactTemplate, Lead, LeadEvent
from tests.email_support import *  # noqa: F403
from tests.email_support import LEAD_EMAIL, SALES
from tests.two_factor_support import sign_in_fully

pytestmark = pytest.mark.usefixtures("email_env")

PDF = b"%PDF-1.4\n" + b"1" * 4096 + b"\n%%EOF\n"
_ids = itertools.count(1)


def reply(  # noqa: PLR0913
    body="Gracias, ¿me pasan el precio final?",
    sender=LEAD_EMAIL,
    to=SALES,
    subject="Re: Cotización",
    in_reply_to="",
    html="",
    message_id=None,
    attachments=(),
):
    message = EmailMessage()
    message["From"] = f"Ana Pérez <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(f"reply{next(_ids)}", domain="cliente.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for name, content, maintype, subtype in attachments:
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def send(client, lead, committing, **fields):
    data = {"sender": "rep", "subject": "Cotización INTRALOG", "body": "Hola Ana, te adjunto la cotización."}
    data.update(fields)
    with committing():
        return client.post(reverse("conversations:email", args=[lead.pk]), data)


@pytest.fixture
def emailed(email_env, make_lead, employee, client, committing):
    """A lead of the employee's with an email sent to it (a quote PDF attached)."""
    lead = make_lead(assignee=employee, email=LEAD_EMAIL)
    sign_in_fully(client, employee)
    response = send(client, lead, committing, attachments=SimpleUploadedFile("Cotización 2026.pdf", PDF))
    assert response.status_code == 302
    return {"lead": lead, "message": Message.objects.get(channel="email", direction="out")}


# Sending -------------------------------------------------------------------------------------------


def test_a_rep_emails_a_quote_and_it_is_the_leads_contact_attempt(emailed, email_env, employee):
    lead, message = emailed["lead"], emailed["message"]
    [sent] = email_env["sink"].received
    token = Conversation.objects.get(lead=lead, channel="email").thread_token
    assert (sent["To"], sent["From"].addresses[0].addr_spec) == (LEAD_EMAIL, employee.email)
    assert sent["Reply-To"].addresses[0].addr_spec == f"ventas+{token}@intralog.test"
    assert (sent["X-Intralog-Thread"], sent["Message-ID"]) == (token, message.provider_id)
    [pdf] = list(sent.iter_attachments())
    assert (pdf.get_filename(), pdf.get_content_type(), pdf.get_content()) == (
        "Cotización 2026.pdf",
        "application/pdf",
        PDF,
    )
    assert "te adjunto la cotización" in sent.get_body(("plain",)).get_content()
    message.refresh_from_db()
    assert (message.status, message.sent_by, message.attempts) == ("sent", employee, 1)
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.CONTACT_ATTEMPT)
    assert (event.channel, event.actor, event.data["message_id"]) == ("email", employee, message.pk)
    assert Lead.objects.get(pk=lead.pk).first_contacted_at is not None


def test_the_quote_is_a_lead_document_only_those_who_may_act_on_the_lead_download(
    emailed, employee, other_employee, manager, other_manager, marketer, client
):
    document = Attachment.objects.get()
    assert (document.lead, document.size, document.content_type) == (
        emailed["lead"],
        len(PDF),
        "application/pdf",
    )
    url = reverse("conversations:attachment", args=[document.pk])
    for person, expected in (
        (employee, 200),
        (manager, 200),
        (other_employee, 404),
        (other_manager, 404),
        (marketer, 404),
    ):
        client.logout()
        sign_in_fully(client, person)
        response = client.get(url)
        assert response.status_code == expected, person
        if expected == 200:
            assert b"".join(response.streaming_content) == PDF
            assert "attachment" in response["Content-Disposition"]


def test_from_the_brand_address_with_the_brands_english_template(
    email_env, make_lead, employee, brands, client, committing
):
    ContactTemplate.objects.update_or_create(
        brand=brands["intralog"],
        channel="email",
        language="en",
        defaults={"subject": "Your quote from {brand}", "body": "Hi {name}, this is {rep} about {service}."},
    )
    lead = make_lead(assignee=employee, email=LEAD_EMAIL)
    sign_in_fully(client, employee)
    page = client.get(reverse("crm_leads:inspect", args=[lead.pk]) + "?email_language=en")
    html = page.content.decode()
    assert "Your quote from INTRALOG" in html and "Hi Ana Pérez, this is" in html
    send(client, lead, committing, sender="brand", subject="Your quote from INTRALOG")
    [sent] = email_env["sink"].received
    assert sent["From"].addresses[0].addr_spec == SALES
    assert sent["From"].addresses[0].display_name == "INTRALOG Ventas"


def test_a_25_mb_attachment_is_refused_with_a_clear_message(
    email_env, make_lead, employee, client, committing, settings
):
    lead = make_lead(assignee=employee, email=LEAD_EMAIL)
    sign_in_fully(client, employee)
    big = SimpleUploadedFile("plano.pdf", b"%PDF-1.4\n" + b"0" * (25 * 1024 * 1024), "application/pdf")
    with committing():
        response = client.post(
            reverse("conversations:email", args=[lead.pk]),
            {"sender": "rep", "subject": "Plano", "body": "Adjunto", "attachments": big},
            follow=True,
        )
    assert response.status_code == 200
    text = response.content.decode()
    assert "“plano.pdf” is 25.0\xa0MB; each file may be at most 10.0\xa0MB." in text
    assert not Message.objects.exists() and not Attachment.objects.exists()
    assert email_env["sink"].received == [] and files_kept(settings) == []


def files_kept(settings):
    root = Path(settings.CONVERSATIONS_MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_25_mb_in_files_each_within_the_limit_is_refused_whole(
    email_env, make_lead, employee, client, committing, settings
):
    """Three files of 8.4 MB: each may go, together they are over what one email carries; none is kept
    and nothing is sent, the form says why."""
    lead = make_lead(assignee=employee, email=LEAD_EMAIL)
    sign_in_fully(client, employee)
    parts = [
        SimpleUploadedFile(f"plano-{n}.pdf", b"%PDF-1.4\n" + b"0" * (8_400 * 1024), "application/pdf")
        for n in range(3)
    ]
    with committing():
        response = client.post(
            reverse("conversations:email", args=[lead.pk]),
            {"sender": "rep", "subject": "Planos", "body": "Adjunto", "attachments": parts},
            follow=True,
        )
    assert response.status_code == 200
    assert (
        "The files add up to 24.6\xa0MB; one email may carry at most 20.0\xa0MB." in response.content.decode()
    )
    assert not Message.objects.exists() and not Attachment.objects.exists()
    assert email_env["sink"].received == [] and files_kept(settings) == []


def test_more_files_than_one_email_carries_are_refused(email_env, make_lead, employee, client, committing):
    lead = make_lead(assignee=employee, email=LEAD_EMAIL)
    sign_in_fully(client, employee)
    parts = [SimpleUploadedFile(f"hoja-{n}.pdf", PDF, "application/pdf") for n in range(mail.MAX_FILES + 1)]
    with committing():
        response = client.post(
            reverse("conversations:email", args=[lead.pk]),
            {"sender": "rep", "subject": "Hojas", "body": "Adjunto", "attachments": parts},
            follow=True,
        )
    assert f"Attach at most {mail.MAX_FILES} files." in response.content.decode()
    assert not Message.objects.exists() and email_env["sink"].received == []


def test_a_file_type_not_accepted_is_refused(email_env, make_lead, employee, client, committing):
    lead = make_lead(assignee=employee, email=LEAD_EMAIL)
    sign_in_fully(client, employee)
    response = send(client, lead, committing, attachments=SimpleUploadedFile("setup.exe", b"MZ..."))
    assert response.status_code == 302
    assert not Message.objects.exists()


def test_a_refused_address_shows_on_the_message_and_it_can_be_sent_again(
    email_env, make_lead, employee, client, committing
):
    lead = make_lead(assignee=employee, email=LEAD_EMAIL)
    sign_in_fully(client, employee)
    email_env["sink"].handler.refuse.add(LEAD_EMAIL)
    send(client, lead, committing)
    message = Message.objects.get()
    assert (message.status, message.error_code) == ("failed", "550")
    assert "No such user here" in message.error
    assert not LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CONTACT_ATTEMPT).exists()
    email_env["sink"].handler.refuse.clear()
    with committing():
        client.post(reverse("conversations:retry", args=[message.pk]))
    message.refresh_from_db()
    assert (message.status, message.attempts, len(email_env["sink"].received)) == ("sent", 2, 1)


def test_nothing_is_emailed_to_a_lead_that_opted_out(email_env, make_lead, employee, client, committing):
    from crm import services

    lead = services.opt_out(make_lead(assignee=employee, email=LEAD_EMAIL), "whatsapp", "BAJA")
    sign_in_fully(client, employee)
    response = send(client, lead, committing)
    assert response.status_code == 302
    assert not Message.objects.exists() and email_env["sink"].received == []


# Replies -------------------------------------------------------------------------------------------


def test_a_reply_lands_in_the_conversation_and_timeline_and_alerts_the_assignee(
    emailed, email_env, employee, client, committing
):
    lead, sent = emailed["lead"], emailed["message"]
    token = Conversation.objects.get(lead=lead, channel="email").thread_token
    email_env["dovecot"].append(reply(to=f"ventas+{token}@intralog.test", in_reply_to=sent.provider_id))
    with committing():
        result = mailbox.read(email_env["account"].pk)
    assert (result.stored, result.leads, result.repeats) == (1, 0, 0)
    received = Message.objects.get(direction="in")
    assert (received.lead, received.channel, received.subject) == (lead, "email", "Re: Cotización")
    assert received.body == "Gracias, ¿me pasan el precio final?"
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.MESSAGE_RECEIVED)
    assert event.channel == "email" and "Re: Cotización" in event.note
    alerts = Notification.objects.filter(trigger=Trigger.MESSAGE_RECEIVED)
    assert {(alert.lead_id, alert.recipient_id) for alert in alerts} == {(lead.pk, employee.pk)}
    page = client.get(reverse("conversations:messages", args=[lead.pk])).content.decode()
    assert page.index("Cotización INTRALOG") < page.index("Re: Cotización")


def test_one_conversation_holds_whatsapp_and_email_in_order(emailed, email_env, employee, client, committing):
    from tests.conversations_support import inbound, post_webhook, text_message

    lead = emailed["lead"]
    with committing():
        post_webhook(client, inbound(text_message("Te escribo por WhatsApp")))
    email_env["dovecot"].append(reply(body="Y por correo también"))
    with committing():
        mailbox.read(email_env["account"].pk)
    html = client.get(reverse("conversations:messages", args=[lead.pk])).content.decode()
    order = [html.index(text) for text in ("Cotización INTRALOG", "Te escribo por WhatsApp", "Y por correo")]
    assert order == sorted(order)
    assert set(Message.objects.filter(lead=lead).values_list("channel", flat=True)) == {"email", "whatsapp"}


def test_a_reply_without_token_finds_the_lead_by_the_message_it_answers_or_by_sender(
    email_env, emailed, make_lead, committing
):
    lead = emailed["lead"]
    other = make_lead("Beto", email="beto@cliente.example", phone="+5491155550000")
    email_env["dovecot"].append(
        reply(in_reply_to=emailed["message"].provider_id, sender="asistente@cliente.example"),
        reply(body="Soy Beto", sender="beto@cliente.example"),
    )
    with committing():
        mailbox.read(email_env["account"].pk)
    assert dict(Message.objects.filter(direction="in").values_list("body", "lead_id")) == {
        "Gracias, ¿me pasan el precio final?": lead.pk,
        "Soy Beto": other.pk,
    }


def test_mail_from_an_unknown_sender_becomes_a_lead_through_the_intake(email_env, committing):
    email_env["dovecot"].append(
        reply(body="Necesito un depósito en Pacheco", sender="nuevo@empresa.example", subject="Consulta")
    )
    with committing():
        result = mailbox.read(email_env["account"].pk)
    assert (result.stored, result.leads) == (1, 1)
    lead = Lead.objects.get(email="nuevo@empresa.example")
    assert (lead.brand.code, lead.source.key, lead.external_source) == ("intralog", "email", "email")
    assert lead.contact_name == "Ana Pérez" and "depósito en Pacheco" in lead.message
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CREATED).exists()
    assert Message.objects.get().lead == lead


def test_a_mailbox_read_twice_stores_each_reply_once(email_env, committing):
    email_env["dovecot"].append(
        *[reply(body=f"Consulta {n}", sender=f"c{n}@empresa.example") for n in range(30)]
    )
    with committing():
        first = mailbox.read(email_env["account"].pk, batch=7)
    account = email_env["account"]
    account.refresh_from_db()
    account.imap_last_uid = 0
    account.save()
    with committing():
        second = mailbox.read(email_env["account"].pk, batch=7)
        third = mailbox.read(email_env["account"].pk, batch=7)
    assert (first.stored, second.stored, second.repeats, third.stored + third.repeats) == (30, 0, 30, 0)
    assert Message.objects.count() == 30 and Lead.objects.filter(source__key="email").count() == 30


def test_a_reader_stopped_mid_run_loses_nothing(email_env, committing, monkeypatch):
    """The reader dies on the 13th mail (in its second batch of 10): the first batch and the checkpoint
    are kept, the second batch's work is undone; the next run reads from the checkpoint and stores all."""
    email_env["dovecot"].append(
        *[reply(body=f"Pedido {n}", sender=f"p{n}@empresa.example") for n in range(25)]
    )
    real = mailbox.record_email
    calls = itertools.count(1)

    def dying(account, raw):
        if next(calls) == 13:
            raise KeyboardInterrupt("killed")
        return real(account, raw)

    monkeypatch.setattr(mailbox, "record_email", dying)
    with pytest.raises(KeyboardInterrupt), committing():
        mailbox.read(email_env["account"].pk, batch=10)
    account = email_env["account"]
    account.refresh_from_db()
    assert Message.objects.count() == 10 and account.imap_last_uid > 0
    monkeypatch.setattr(mailbox, "record_email", real)
    with committing():
        result = mailbox.read(email_env["account"].pk, batch=10)
    assert (result.stored, result.repeats) == (15, 0)
    bodies = sorted(Message.objects.values_list("body", flat=True))
    assert bodies == sorted(f"Pedido {n}" for n in range(25))


def test_html_with_scripts_is_sanitised_and_remote_images_not_loaded(emailed, email_env, client, committing):
    lead = emailed["lead"]
    html = (
        '<p onclick="steal()">Hola <b>equipo</b><script>alert("x")</script></p>'
        '<img src="https://tracker.example/pixel.gif?u=1"><a href="javascript:alert(1)">clic</a>'
        '<a href="https://cliente.example">sitio</a><style>p{background:url(https://tracker.example/b)}</style>'
        '<iframe src="https://evil.example"></iframe>'
    )
    email_env["dovecot"].append(reply(body="Hola equipo", html=html))
    with committing():
        mailbox.read(email_env["account"].pk)
    message = Message.objects.get(direction="in")
    assert "<script>" in message.html_body, "kept as received"
    page = client.get(reverse("conversations:messages", args=[lead.pk])).content.decode()
    for bad in (
        "<script",
        "alert(",
        "onclick",
        "tracker.example",
        "<img",
        "javascript:",
        "<iframe",
        "<style",
    ):
        assert bad not in page, bad
    assert "<b>equipo</b>" in page
    assert '<a href="https://cliente.example" rel="noopener noreferrer nofollow">sitio</a>' in page


def test_attachments_received_are_kept_within_the_limits(email_env, emailed, settings, committing):
    settings.CONVERSATIONS_EMAIL_ATTACHMENT_MAX_BYTES = 8000
    email_env["dovecot"].append(
        reply(
            attachments=[
                ("firmado.pdf", PDF, "application", "pdf"),
                ("virus.exe", b"MZ", "application", "octet-stream"),
                ("enorme.pdf", b"%PDF" + b"0" * 9000, "application", "pdf"),
            ]
        )
    )
    with committing():
        mailbox.read(email_env["account"].pk)
    received = Message.objects.get(direction="in")
    assert [document.name for document in received.attachments.all()] == ["firmado.pdf"]
    assert "virus.exe" in received.error and "enorme.pdf" in received.error


DSN = """From: Mail Delivery System <MAILER-DAEMON@mx.cliente.example>
To: ventas@intralog.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.cliente.example>
Date: Sun, 06 Dec 2026 12:00:00 -0300
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain

Your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.cliente.example

Final-Recipient: rfc822; ana.perez@cliente.example
Action: {action}
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--BOUNDARY
Content-Type: text/rfc822-headers

Message-ID: {message_id}
Subject: Cotizacion INTRALOG

--BOUNDARY--
"""


def test_a_bounce_is_recorded_on_the_message(emailed, email_env, committing):
    sent = emailed["message"]
    delayed = DSN.format(action="delayed", message_id=sent.provider_id).replace("dsn-1@", "dsn-0@")
    failed = DSN.format(action="failed", message_id=sent.provider_id)
    email_env["dovecot"].append(delayed.replace("\n", "\r\n").encode(), failed.replace("\n", "\r\n").encode())
    with committing():
        result = mailbox.read(email_env["account"].pk)
    assert (result.bounces, result.ignored, result.stored) == (1, 1, 0)
    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == ("bounced", "5.1.1")
    assert "User unknown" in sent.error and sent.bounced_at is not None
    assert not Lead.objects.filter(email__icontains="mailer-daemon").exists()


def test_a_wrong_password_is_kept_on_the_account(email_env, settings):
    settings.CONVERSATIONS_IMAP_PASSWORDS = {"intralog": "wrong"}
    with pytest.raises(mailbox.MailboxError):
        mailbox.read(email_env["account"].pk)
    email_env["account"].refresh_from_db()
    assert email_env["account"].last_error


def test_the_periodic_job_reads_every_mailbox(email_env, committing):
    from conversations import jobs

    email_env["dovecot"].append(reply(sender="periodico@empresa.example"))
    with committing():
        jobs.read_mailboxes()
    assert Message.objects.filter(direction="in").count() == 1


# Access --------------------------------------------------------------------------------------------

ROLES = {
    "admin_user": True,
    "manager": True,
    "employee": True,
    "other_manager": False,
    "other_employee": False,
    "marketer": False,
}


@pytest.mark.parametrize(("role", "allowed"), ROLES.items())
def test_only_who_may_act_on_the_lead_emails_it_or_reads_its_mail(
    role, allowed, request, emailed, email_env, client, committing
):
    lead = emailed["lead"]
    document = Attachment.objects.get()
    client.logout()
    sign_in_fully(client, request.getfixturevalue(role))
    page = client.get(reverse("crm_leads:inspect", args=[lead.pk]))
    listing = client.get(reverse("conversations:messages", args=[lead.pk]))
    download = client.get(reverse("conversations:attachment", args=[document.pk]))
    before = len(email_env["sink"].received)
    sent = send(client, lead, committing, sender="brand")
    after = len(email_env["sink"].received)
    if allowed:
        assert page.status_code == 200 and "data-conversation-email" in page.content.decode()
        assert listing.status_code == 200 and "Cotización INTRALOG" in listing.content.decode()
        assert (download.status_code, sent.status_code, after - before) == (200, 302, 1)
    else:
        assert "Cotización INTRALOG" not in page.content.decode()
        assert (listing.status_code, download.status_code, sent.status_code, after - before) == (
            404,
            404,
            404,
            0,
        )


def test_email_urls_refuse_the_wrong_method_and_bad_ids(emailed, employee, client):
    lead = emailed["lead"]
    assert client.get(reverse("conversations:email", args=[lead.pk])).status_code == 405
    assert client.post(reverse("conversations:attachment", args=[1])).status_code == 405
    assert client.get(reverse("conversations:attachment", args=[2**31 - 1])).status_code == 404
    response = client.post(reverse("conversations:email", args=[lead.pk]), {"sender": "nobody"})
    assert response.status_code == 302
    assert (
        client.get(reverse("crm_leads:inspect", args=[lead.pk]) + "?email_language=%00zz").status_code == 200
    )


def test_compose_blocks_a_lead_without_address(email_env, make_lead, employee):
    lead = make_lead(assignee=employee, email="")
    assert mail.compose(lead, employee).blocked == "The lead has no email address to write to."
