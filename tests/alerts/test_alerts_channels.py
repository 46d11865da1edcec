"""The alert channel registry: a channel declared in ``settings.ALERT_CHANNELS`` and nowhere else is offered,
chosen, rendered and sent (here over real HTTP to a fake server on 127.0.0.1); rows of a channel that is no
longer declared fail for an admin to see instead of going out on another channel."""

import itertools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from alerts import delivery, digests
from alerts import registry as channels
from alerts.forms import AlertPreferencesForm
from alerts.models import Notification
from alerts.registry import AlertChannel, DeliveryError
from tests.alerts_support import *  # noqa: F403 - fixtures

pytestmark = pytest.mark.usefixtures("alerts_env")
Status = Notification.Status


class FakeBeepServer:
    """Records the JSON posted to it; answers with a message id, or with the statuses it was told to."""

    def __init__(self):
        self.requests, self.scripted, self.ids = [], [], itertools.count(1)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append(json.loads(body))
                status = server.scripted.pop(0) if server.scripted else 200
                reply = json.dumps({"id": f"beep-{next(server.ids)}"} if status == 200 else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/send"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass(frozen=True)
class BeepDraft:
    text: str


class BeepChannel(AlertChannel[BeepDraft]):
    """A throwaway channel: everything a real one (say Telegram) would have, in one class."""

    name = "beep"
    label = "Beep"
    send_order = 2
    error_texts = {"no_handle": "The recipient has no beep handle."}

    def wanted_by(self, rule):
        return True

    def address(self, person):
        if not person.username:
            raise DeliveryError("no_handle", "The recipient has no beep handle.")
        return person.username

    def drafts(self, pairs, now):
        return [BeepDraft(f"{message.subject} {message.link}") for _notification, message in pairs]

    def digest_draft(self, digest, notifications, now):
        return BeepDraft(digest.subject)

    def send(self, to, draft):
        session = requests.Session()
        session.trust_env = False
        try:
            response = session.post(settings.BEEP_URL, json={"to": to, "text": draft.text}, timeout=5)
        except requests.RequestException as error:
            raise DeliveryError("network", str(error), transient=True) from error
        if not response.ok:
            code = response.status_code
            raise DeliveryError(code, f"HTTP {code}", transient=code == 429 or code >= 500)
        return response.json()["id"]


@pytest.fixture
def beep(settings):
    """The channel declared the one way there is: its class in ``ALERT_CHANNELS``, its own settings."""
    server = FakeBeepServer()
    settings.ALERT_CHANNELS = [*settings.ALERT_CHANNELS, f"{__name__}.BeepChannel"]
    settings.BEEP_URL = server.url
    yield server
    server.stop()


def test_a_declared_channel_is_offered_wherever_channels_are_listed(
    beep, make_rule, manager, admin_user, client_for
):
    assert [channel.name for channel in channels.registered()] == ["email", "whatsapp", "beep"]
    assert ("beep", "Beep") in Notification._meta.get_field("channel").choices
    assert make_rule(send_email=False).channels == ["beep"]
    form = AlertPreferencesForm(instance=manager)
    assert form.fields["new_lead__beep"].label == "New lead · Beep"
    log = client_for(admin_user).get(reverse("alerts_deliveries:index"), {"channel": "beep"})
    assert log.status_code == 200
    assert 'value="beep"' in log.content.decode()


def test_alerts_go_out_through_a_declared_channel(alerts_env, beep, make_rule, manager, new_lead):
    make_rule(trigger="new_lead", notify_brand_managers=True, send_email=False)
    lead = new_lead(contact_name="Ana")
    notification = Notification.objects.get()
    assert (notification.channel, notification.status, notification.provider_id) == (
        "beep",
        Status.SENT,
        "beep-1",
    )
    [request] = beep.requests
    assert request["to"] == manager.username
    assert request["text"].startswith("New lead: Ana")
    assert request["text"].endswith(f"/{lead.pk}/")
    assert not alerts_env["smtp"].messages and not alerts_env["whatsapp"].requests


@pytest.mark.parametrize(
    ("status", "expected"), [(503, Status.PENDING), (429, Status.PENDING), (400, Status.FAILED)]
)
def test_the_channel_classifies_its_failures(beep, make_rule, manager, new_lead, status, expected):
    beep.scripted.append(status)
    make_rule(trigger="new_lead", notify_brand_managers=True, send_email=False)
    new_lead()
    notification = Notification.objects.get()
    assert (notification.status, notification.error_code) == (expected, str(status))
    assert (notification.next_attempt_at is not None) is (expected == Status.PENDING)


def test_a_digest_goes_out_through_a_declared_channel(beep, make_rule, manager, new_lead):
    make_rule(trigger="new_lead", notify_brand_managers=True, send_email=False, delivery="digest")
    new_lead(contact_name="Uno")
    new_lead(contact_name="Dos")
    assert not beep.requests
    assert digests.send_digests() == 2
    assert beep.requests == [{"to": manager.username, "text": "Your daily lead digest: 2 alerts"}]
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}


def test_rows_of_a_channel_no_longer_declared_fail_and_go_out_on_no_other(
    alerts_env, make_rule, manager, settings
):
    manager.whatsapp = "+5491155551234"
    manager.save()
    rule = make_rule(trigger="new_lead", notify_brand_managers=True, send_whatsapp=True)
    orphan = Notification.objects.create(
        rule=rule, cause="event:1", trigger="new_lead", recipient=manager, channel="telegram"
    )
    assert delivery.deliver(ids=[orphan.pk], now=timezone.now()) == 1
    orphan.refresh_from_db()
    assert (orphan.status, orphan.error_code, orphan.needs_admin) == (Status.FAILED, "unknown_channel", True)
    assert str(orphan.get_error_display()) == "This alert channel is not set up."
    assert not alerts_env["whatsapp"].requests and not alerts_env["smtp"].messages
