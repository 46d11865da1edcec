"""A rep emails a quote PDF from the lead page in Chromium and the lead's reply, read from the IMAP server,
appears on the page left open (it asks for new messages every 5 seconds): the brand's email template fills
the form, the PDF goes through the real SMTP server (aiosmtpd), the reply answering its Message-ID is put
into Dovecot and the mailbox reader runs in-process as its periodic job would. Its HTML is shown sanitised.
On a desktop and on a 390 px phone (nothing wider than the screen)."""

import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conversations import mailbox
from conversations.models import Message
from crm import services
from crm.intake import LeadData, create_lead
from crm.models import Source
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.browser.worker_support import worker  # noqa: F401
from tests.conftest import PASSWORD
from tests.email_support import *  # noqa: F403
from tests.email_support import LEAD_EMAIL

pytestmark = BROWSER_TEST

SUBJECT = "INTRALOG: tu consulta sobre nuestros servicios"
REPLY_TEXT = "Gracias Elena, el precio nos sirve. ¿Cuándo pueden empezar?"
REPLY_HTML = (
    '<p onclick="window.__stolen = 1">Gracias Elena, el precio <b>nos sirve</b>.</p>'
    "<script>window.__stolen = 1</script>"
    '<img src="https://tracker.example/pixel.gif?lead=1" onerror="window.__stolen = 1">'
    '<p><a href="javascript:window.__stolen = 1">ver</a> ¿Cuándo pueden empezar?</p>'
)


def tiny_pdf(text="Cotizacion INTRALOG"):
    """A one-page PDF with a line of text, its cross-reference table at the right offsets."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


def reply_to(sent):
    """The lead's answer as a mail client writes it: to the Reply-To address, answering the Message-ID."""
    message = EmailMessage()
    message["From"] = f"Ana Pérez <{LEAD_EMAIL}>"
    message["To"] = str(sent["Reply-To"])
    message["Subject"] = "Re: " + str(sent["Subject"])
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid("respuesta", domain="cliente.example")
    message["In-Reply-To"] = sent["Message-ID"]
    message["References"] = sent["Message-ID"]
    message.set_content(REPLY_TEXT)
    message.add_alternative(REPLY_HTML, subtype="html")
    return message.as_bytes()


@pytest.fixture
def lead(email_env, brands, employee):
    employee.first_name, employee.last_name = "Elena", "Vendedora"
    employee.save()
    lead = create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name="Ana Pérez",
            company="Logística del Sur SA",
            email=LEAD_EMAIL,
            source=Source.objects.get(key="phone"),
        )
    )
    return services.assign(lead, employee)


def wait_for_email(status="sent", seconds=15):
    deadline = time.monotonic() + seconds
    while not Message.objects.filter(channel="email", direction="out", status=status).exists():
        assert time.monotonic() < deadline, f"the email was not {status}"
        time.sleep(0.1)
    return Message.objects.get(channel="email", direction="out")


def no_horizontal_overflow(page, viewport):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page is {width} px wide on a {viewport['width']} px screen"


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_rep_emails_a_quote_pdf_and_the_reply_from_the_imap_server_appears(
    viewport, email_env, lead, employee, sign_in, tmp_path
):
    page = sign_in(employee.username, PASSWORD)
    scripts_run = []
    page.on("dialog", lambda dialog: (scripts_run.append(dialog.message), dialog.dismiss()))
    page.set_viewport_size(viewport)
    page.goto(f"/admin/leads/inspect/{lead.pk}/")
    form = page.locator("form[data-conversation-email]")
    expect(form).to_be_visible()
    expect(form.locator("#crm-email-subject")).to_have_value("INTRALOG: your enquiry about our services")
    form.locator(".crm-conversation__languages a").click()
    page.wait_for_load_state()
    expect(form.locator("#crm-email-subject")).to_have_value(SUBJECT)
    expect(form.locator("#crm-email-body")).to_contain_text("Hola Ana Pérez:")
    expect(form.locator("#crm-email-body")).to_contain_text("Elena Vendedora")
    form.locator("#crm-email-sender").select_option("rep")
    form.locator("#crm-email-body").fill(
        form.locator("#crm-email-body").input_value() + "\n\nTe adjunto la cotización."
    )
    pdf = tiny_pdf()
    form.locator("#crm-email-files").set_input_files(
        files=[{"name": "Cotización 2026.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    form.get_by_role("button", name="Send email").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Email queued; its status shows in the conversation.")).to_be_visible()

    message = wait_for_email()
    [sent] = email_env["sink"].received
    assert sent["Message-ID"] == message.provider_id
    assert (sent["To"], sent["From"].addresses[0].addr_spec) == (LEAD_EMAIL, employee.email)
    assert sent["Subject"] == SUBJECT
    assert "Te adjunto la cotización." in sent.get_body(("plain",)).get_content()
    [attached] = list(sent.iter_attachments())
    assert (attached.get_filename(), attached.get_content_type(), attached.get_content()) == (
        "Cotización 2026.pdf",
        "application/pdf",
        pdf,
    )
    assert attached.get_content().startswith(b"%PDF-1.4") and attached.get_content().rstrip().endswith(
        b"%%EOF"
    )

    panel = page.locator("#crm-conversation")
    outgoing = panel.locator(".crm-message--out.crm-message--email")
    expect(outgoing.locator('[data-status="sent"]')).to_be_visible(timeout=15_000)
    expect(outgoing.locator("[data-message-document]")).to_contain_text("Cotización 2026.pdf")

    email_env["dovecot"].append(reply_to(sent))
    result = mailbox.read(email_env["account"].pk)
    assert (result.stored, result.leads) == (1, 0)

    received = panel.locator(".crm-message--in.crm-message--email")
    expect(received).to_have_count(1, timeout=15_000)
    expect(received.locator("[data-message-subject]")).to_have_text("Re: " + SUBJECT)
    body = received.locator("[data-message-html]")
    expect(body).to_contain_text("Gracias Elena, el precio nos sirve.")
    expect(body).to_contain_text("¿Cuándo pueden empezar?")
    expect(body.locator("b")).to_have_text("nos sirve")
    shown = body.inner_html()
    for unsafe in ("<script", "onclick", "onerror", "<img", "tracker.example", "javascript:"):
        assert unsafe not in shown, unsafe
    assert page.evaluate("window.__stolen") is None and scripts_run == []
    assert Message.objects.get(direction="in").lead_id == lead.pk

    received.scroll_into_view_if_needed()
    no_horizontal_overflow(page, viewport)
    name = "desktop" if viewport is DESKTOP else "phone"
    page.screenshot(path=str(tmp_path / f"email-reply-{name}.png"), full_page=True)
    assert (tmp_path / f"email-reply-{name}.png").stat().st_size > 0
    shoot(page, f"email-reply-{name}")
