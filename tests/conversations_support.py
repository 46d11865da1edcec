"""Fixtures for the conversations tests: the brands' WhatsApp numbers on the fake Cloud API, leads, and
signed webhooks posted over the real view.

Import them into a test module with ``from tests.conversations_support import *``.
"""

import itertools
import json
import time
from contextlib import contextmanager

import pytest
from django.urls import reverse
from rq import SimpleWorker

from conversations.models import WhatsAppNumber, WhatsAppTemplate
from core.jobs import get_queue, is_embedded
from core.whatsapp import sign
from crm import services
from crm.intake import LeadData, create_lead
from crm.models import Source
from tests.alerts_support import APP_SECRET, alerts_env, fake_smtp_server, fake_whatsapp_server

__all__ = [
    "INTRALOG_NUMBER_ID",
    "INTRAPAL_NUMBER_ID",
    "LEAD_PHONE",
    "alerts_env",
    "committing",
    "fake_smtp_server",
    "fake_whatsapp_server",
    "inbound",
    "make_lead",
    "post_webhook",
    "status_payload",
    "text_message",
    "whatsapp_env",
]

INTRALOG_NUMBER_ID = "100200300"
INTRAPAL_NUMBER_ID = "900800700"
LEAD_PHONE = "+5491155551234"
_ids = itertools.count(1)


@pytest.fixture
def whatsapp_env(alerts_env, brands, settings, tmp_path):
    """Both brands' numbers (INTRALOG with two approved templates), files kept under ``tmp_path``."""
    settings.CONVERSATIONS_MEDIA_ROOT = tmp_path / "conversations"
    settings.WHATSAPP_BRAND_TOKENS = {"intrapal": "intrapal-token"}
    intralog = WhatsAppNumber.objects.create(
        brand=brands["intralog"], phone_number_id=INTRALOG_NUMBER_ID, display_number="+54 9 11 4000-0001"
    )
    WhatsAppTemplate.objects.create(
        number=intralog,
        label="Primer contacto",
        name="first_contact",
        language="es_AR",
        parameters="name, brand, rep",
        text="Hola {{1}}, te escribimos de {{2}}. Soy {{3}}, ¿cuándo podemos hablar?",
        sort_order=0,
    )
    WhatsAppTemplate.objects.create(
        number=intralog,
        label="Seguimiento",
        name="follow_up",
        language="es_AR",
        parameters="name",
        sort_order=1,
    )
    intrapal = WhatsAppNumber.objects.create(
        brand=brands["intrapal"], phone_number_id=INTRAPAL_NUMBER_ID, display_number="+54 9 11 4000-0002"
    )
    return {**alerts_env, "intralog": intralog, "intrapal": intrapal}


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run what waits for the commit at the end of the block, as a real request's commit would; with Redis,
    then the jobs it queued, and the jobs those queue after their own commits (embedded, they already ran)."""

    @contextmanager
    def block():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        if is_embedded():
            return
        queues = [get_queue(name) for name in ("high", "default", "low")]
        while any(queue.count for queue in queues):
            with django_capture_on_commit_callbacks(execute=True):
                SimpleWorker(queues, connection=queues[0].connection).work(burst=True)

    return block


@pytest.fixture
def make_lead(db, brands):
    def make(name="Ana Pérez", assignee=None, brand_code="intralog", phone=LEAD_PHONE, **fields):
        lead = create_lead(
            LeadData(
                brand=brands[brand_code],
                contact_name=name,
                company=fields.pop("company", "Acme SA"),
                phone=phone,
                source=Source.objects.get(key="phone"),
                **fields,
            )
        )
        if assignee is not None:
            lead = services.assign(lead, assignee)
        return lead

    return make


def text_message(body, sender=LEAD_PHONE, message_id=None, timestamp=None):
    return {
        "from": sender.lstrip("+"),
        "id": message_id or f"wamid.in{next(_ids)}",
        "timestamp": str(int(timestamp if timestamp is not None else time.time())),
        "type": "text",
        "text": {"body": body},
    }


def inbound(*messages, phone_number_id=INTRALOG_NUMBER_ID, name="Ana Pérez", statuses=()):
    """A Cloud API webhook body: ``messages`` (and ``statuses``) received on one business number."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5491140000001", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": message["from"]} for message in messages],
        "messages": list(messages),
    }
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
    }


def status_payload(message_id, status, phone_number_id=INTRALOG_NUMBER_ID, **extra):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": phone_number_id},
                            "statuses": [
                                {
                                    "id": message_id,
                                    "status": status,
                                    "timestamp": str(int(time.time())),
                                    **extra,
                                }
                            ],
                        },
                    }
                ]
            }
        ],
    }


def post_webhook(client, payload, secret=APP_SECRET, raw=None):
    """POST a body to the webhook as the Cloud API does: signed with the app secret (None: unsigned)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"X-Hub-Signature-256": sign(secret, body)} if secret else {}
    return client.post(
        reverse("whatsapp_webhook"), data=body, content_type="application/json", headers=headers
    )
