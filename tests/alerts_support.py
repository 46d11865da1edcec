"""Pytest fixtures for the alerts tests: fake WhatsApp and SMTP servers on 127.0.0.1, rules, leads.

Import the fixtures into a test module with ``from tests.alerts_support import *``.
"""

import pytest
from django.conf import settings
from rq import SimpleWorker

from alerts import rules, wakeup
from alerts.fake import FakeSMTPServer, FakeWhatsAppServer
from alerts.models import AlertRule
from core.jobs import get_queue, is_embedded
from crm.intake import LeadData, create_lead
from crm.models import PipelineStatus, Source

__all__ = [
    "alerts_env",
    "fake_smtp_server",
    "fake_whatsapp_server",
    "make_rule",
    "new_lead",
    "run_jobs",
]

APP_SECRET = "test-app-secret"  # noqa: S105
VERIFY_TOKEN = "test-verify-token"  # noqa: S105


@pytest.fixture(scope="session")
def fake_whatsapp_server():
    server = FakeWhatsAppServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_smtp_server():
    server = FakeSMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def alerts_env(db, settings, fake_whatsapp_server, fake_smtp_server):
    """Email over SMTP to the fake server, WhatsApp to the fake Cloud API, a fresh rules snapshot."""
    fake_whatsapp_server.clear()
    fake_smtp_server.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = fake_smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.WHATSAPP_API_BASE_URL = fake_whatsapp_server.url + "/v21.0"
    settings.WHATSAPP_TOKEN = "test-token"  # noqa: S105
    settings.WHATSAPP_PHONE_NUMBER_ID = "1234567890"
    settings.WHATSAPP_APP_SECRET = APP_SECRET
    settings.WHATSAPP_VERIFY_TOKEN = VERIFY_TOKEN
    settings.ALERTS_ENABLED = True
    settings.ALERTS_MAX_ATTEMPTS = 3
    if not is_embedded():
        get_queue(settings.ALERTS_QUEUE).empty()
    wakeup.clear_wake_flag()
    rules.invalidate()
    yield {"whatsapp": fake_whatsapp_server, "smtp": fake_smtp_server}
    rules.invalidate()


def run_jobs():
    """Run what is queued for alerts (with real Redis; in embedded mode jobs already ran at enqueue)."""
    if is_embedded():
        return
    wakeup.waker.flush()
    queue = get_queue(settings.ALERTS_QUEUE)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


@pytest.fixture
def make_rule(db, brands):
    def make(name="rule", trigger="new_lead", *, statuses=(), brand_codes=(), users=(), **fields):
        fields.setdefault("send_email", True)
        rule = AlertRule.objects.create(name=name, trigger=trigger, **fields)
        if statuses:
            rule.statuses.set(PipelineStatus.objects.filter(key__in=statuses))
        if brand_codes:
            rule.brands.set([brands[code] for code in brand_codes])
        if users:
            rule.users.set(users)
        return rule

    return make


@pytest.fixture
def new_lead(db, brands, django_capture_on_commit_callbacks):
    """Create a lead through ``crm.services`` and let its after-commit work (and jobs) run."""

    def make(brand_code="intralog", *, source_key="web_form", **fields):
        fields.setdefault("contact_name", "Ana Pérez")
        fields.setdefault("company", "Acme SA")
        data = LeadData(
            brand=brands[brand_code], source=Source.objects.filter(key=source_key).first(), **fields
        )
        with django_capture_on_commit_callbacks(execute=True):
            lead = create_lead(data)
        run_jobs()
        return lead

    return make
