"""A rep writes to a lead on WhatsApp from the lead page in Chromium: a template goes to the fake Cloud API,
the lead's reply comes through the signed webhook and shows on the page left open (it asks for new messages
every 5 seconds), then free text goes out in the open window. On a desktop and on a 390 px phone."""

import json
import time

import pytest
import requests
from playwright.sync_api import expect

from conversations.models import Message
from core.jobs import is_embedded
from core.whatsapp import sign
from crm import services
from crm.intake import LeadData, create_lead
from tests.alerts_support import APP_SECRET
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.browser.worker_support import worker  # noqa: F401
from tests.conftest import PASSWORD
from tests.conversations_support import *  # noqa: F403
from tests.conversations_support import LEAD_PHONE, inbound, text_message

pytestmark = BROWSER_TEST


@pytest.fixture
def lead(whatsapp_env, brands, manager, employee):
    employee.first_name, employee.last_name = "Elena", "Vendedora"
    employee.save()
    lead = create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name="María Fernanda Rodríguez",
            company="Logística del Sur SA",
            phone="+54 9 11 5555-1234",
        ),
        actor=manager,
    )
    return services.assign(lead, employee, manager)


def shoot_whole(page, name, viewport):
    height = page.evaluate("document.querySelector('main').scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": min(height + 200, 8000)})
    shoot(page, name)
    page.set_viewport_size(viewport)


def wait_until_sent(count, seconds=15):
    deadline = time.monotonic() + seconds
    while Message.objects.filter(direction="out", status="sent").count() < count:
        assert time.monotonic() < deadline, "the worker did not send the message"
        time.sleep(0.1)


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_rep_sends_a_template_and_sees_the_reply_arrive(
    viewport, whatsapp_env, lead, employee, sign_in, live_server
):
    page = sign_in(employee.username, PASSWORD)
    page.set_viewport_size(viewport)
    page.goto(f"/admin/leads/inspect/{lead.pk}/")
    panel = page.locator("#crm-conversation")
    expect(panel).to_be_visible()
    expect(panel.locator('[data-conversation-window="closed"]')).to_be_visible()
    panel.locator("select[name=template]").select_option(label="Primer contacto")
    panel.get_by_role("button", name="Send template").click()
    if not is_embedded():
        # The worker sends it after the request: the page shows it queued until it is read again.
        wait_until_sent(1)
        page.reload()

    sent = page.locator("#crm-conversation .crm-message--out")
    expect(sent).to_have_count(1)
    expect(sent.locator('[data-status="sent"]')).to_be_visible()
    expect(sent).to_contain_text(
        "Hola María Fernanda Rodríguez, te escribimos de INTRALOG. Soy Elena Vendedora"
    )
    (recorded,) = whatsapp_env["whatsapp"].sent_messages
    assert (recorded["type"], recorded["template"]["name"], recorded["to"]) == (
        "template",
        "first_contact",
        LEAD_PHONE.lstrip("+"),
    )
    assert page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")[0] <= viewport["width"]

    body = json.dumps(inbound(text_message("¡Gracias! <b>Llamame</b> a las 15 hs"))).encode()
    answer = requests.post(
        f"{live_server.url}/integrations/whatsapp/webhook/",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, body)},
        timeout=10,
    )
    assert answer.status_code == 200
    received = page.locator("#crm-conversation .crm-message--in")
    expect(received).to_contain_text("¡Gracias! <b>Llamame</b> a las 15 hs", timeout=15_000)
    assert Message.objects.filter(direction="in").count() == 1
    name = "desktop" if viewport is DESKTOP else "phone"
    shoot_whole(page, f"conversation-reply-{name}", viewport)

    page.reload()
    expect(page.locator('[data-conversation-window="open"]')).to_be_visible()
    page.fill("#crm-conversation-text", "Perfecto, te llamo a las 15.")
    page.get_by_role("button", name="Send on WhatsApp").click()
    expect(page.locator("#crm-conversation .crm-message--out")).to_have_count(2)
    wait_until_sent(2)
    assert whatsapp_env["whatsapp"].sent_messages[-1]["text"]["body"] == "Perfecto, te llamo a las 15."
    shoot_whole(page, f"conversation-open-window-{name}", viewport)
