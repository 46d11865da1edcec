"""The links alerts carry lead to the lead's page: sent over real SMTP and the fake WhatsApp API, then
followed with the test client signed in as the recipient."""

import re
from urllib.parse import urlsplit

import pytest

from alerts import digests
from crm import services
from tests.alerts_support import *  # noqa: F403
from tests.alerts_support import run_jobs
from tests.two_factor_support import sign_in_fully

pytestmark = pytest.mark.usefixtures("alerts_env")

LINK = re.compile(r"https?://[^\s\"<>]+")


def links_in(text):
    return LINK.findall(text)


def emails_to(smtp, address):
    return [message for message in smtp.messages if address in message["to"]]


def follow(client, link):
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver"  # WAGTAILADMIN_BASE_URL in tests
    return client.get(parts.path)


def test_new_lead_email_link_opens_the_lead_for_the_manager(alerts_env, make_rule, manager, new_lead, client):
    make_rule(trigger="new_lead", notify_brand_managers=True)
    lead = new_lead(contact_name="Rosa Quiroga", company="Depósitos Quiroga")

    [received] = emails_to(alerts_env["smtp"], manager.email)
    text = received["message"].get_body(("plain",)).get_content()
    html = received["message"].get_body(("html",)).get_content()
    [link] = links_in(text)
    assert f'href="{link}"' in html
    assert urlsplit(link).path == f"/admin/leads/inspect/{lead.pk}/"

    sign_in_fully(client, manager)
    response = follow(client, link)
    assert response.status_code == 200
    assert "Rosa Quiroga" in response.content.decode()


def test_assigned_alert_links_open_the_lead_for_the_employee(
    alerts_env, make_rule, manager, employee, new_lead, client, django_capture_on_commit_callbacks
):
    make_rule(trigger="assigned", notify_assignee=True, send_whatsapp=True)
    employee.whatsapp = "+5491155551234"
    employee.save()
    lead = new_lead(contact_name="Ignacio Benítez")
    with django_capture_on_commit_callbacks(execute=True):
        services.assign(lead, employee, manager)
    run_jobs()

    [received] = emails_to(alerts_env["smtp"], employee.email)
    [email_link] = links_in(received["message"].get_body(("plain",)).get_content())
    [request] = alerts_env["whatsapp"].requests
    parameters = request["json"]["template"]["components"][0]["parameters"]
    [whatsapp_link] = [link for parameter in parameters for link in links_in(parameter["text"])]

    sign_in_fully(client, employee)
    for link in (email_link, whatsapp_link):
        response = follow(client, link)
        assert response.status_code == 200, link
        assert "Ignacio Benítez" in response.content.decode()


def test_digest_links_open_each_lead_and_the_admin_home(alerts_env, make_rule, manager, new_lead, client):
    manager.whatsapp = "+5491155551234"
    manager.save()
    make_rule(trigger="new_lead", notify_brand_managers=True, send_whatsapp=True, delivery="digest")
    leads = [new_lead(contact_name=name) for name in ("Lucía Uno", "Tomás Dos")]
    assert digests.send_digests() == 4

    [received] = emails_to(alerts_env["smtp"], manager.email)
    links = links_in(received["message"].get_body(("plain",)).get_content())
    assert sorted(urlsplit(link).path for link in links) == sorted(
        f"/admin/leads/inspect/{lead.pk}/" for lead in leads
    )
    [request] = alerts_env["whatsapp"].requests
    parameters = request["json"]["template"]["components"][0]["parameters"]
    [home_link] = [link for parameter in parameters for link in links_in(parameter["text"])]

    sign_in_fully(client, manager)
    names = {f"/admin/leads/inspect/{lead.pk}/": lead.contact_name for lead in leads}
    for link in links:
        response = follow(client, link)
        assert response.status_code == 200
        assert names[urlsplit(link).path] in response.content.decode()
    assert follow(client, home_link).status_code == 200
