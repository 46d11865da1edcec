"""Spam guards: honeypot, minimum fill time, forged token, rate limit per IP. Rejections make no lead."""

import time

import pytest
from django.core.cache import cache

from crm.models import Lead
from forms_builder.forms import RENDER_TOKEN_FIELD
from forms_builder.guards import make_render_token, rendered_at
from forms_builder.models import LeadFormSubmission, RejectedSubmission, RejectionReason
from tests.forms_support import make_form_page, submission

NEUTRAL = "We could not process this submission."
TOO_FAST = "Your message was not sent yet: it came faster than we expected."


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts with no submissions counted against its client address."""
    cache.clear()


@pytest.fixture
def form_page(brands):
    return make_form_page(brands["intralog"])


def _assert_rejected(response, page, reason):
    body = response.content.decode()
    assert response.status_code == 200
    assert NEUTRAL in body
    assert "¡Gracias" not in body
    assert "honeypot" not in body.lower() and "spam" not in body.lower()
    assert Lead.objects.count() == 0
    assert LeadFormSubmission.objects.count() == 0
    rejection = RejectedSubmission.objects.get()
    assert (rejection.page_id, rejection.reason) == (page.pk, reason)
    return rejection


@pytest.mark.django_db
def test_filled_honeypot_is_rejected(client, form_page):
    response = client.post(
        form_page.url, submission(form_page, honeypot="http://spam.example"), REMOTE_ADDR="198.51.100.9"
    )
    rejection = _assert_rejected(response, form_page, RejectionReason.HONEYPOT)
    assert rejection.ip_prefix == "198.51.100.0/24"


@pytest.mark.django_db
def test_submission_faster_than_the_minimum_fill_time_is_rejected(client, form_page, settings):
    """Refused, but the visitor keeps what they typed: the form comes back filled, with a fresh token."""
    settings.LEAD_FORM_MIN_FILL_SECONDS = 5
    sent = submission(form_page, seconds_ago=1)
    response = client.post(form_page.url, sent)
    body = response.content.decode()
    assert response.status_code == 200
    assert TOO_FAST in body
    assert NEUTRAL not in body and "¡Gracias" not in body
    assert "honeypot" not in body.lower() and "spam" not in body.lower()
    assert Lead.objects.count() == 0 and LeadFormSubmission.objects.count() == 0
    rejection = RejectedSubmission.objects.get()
    assert (rejection.page_id, rejection.reason) == (form_page.pk, RejectionReason.TOO_FAST)
    assert rejection.fill_seconds < 5

    form = response.context["form"]
    for name in ("nombre_y_apellido", "razon_social", "telefono", "mensaje", "cantidad_de_pallets"):
        assert form[name].value() == sent[name]
        assert f'value="{sent[name]}"' in body or f">\n{sent[name]}</textarea>" in body
    assert '<option value="Transporte" selected>' in body
    token = form[RENDER_TOKEN_FIELD].value()
    assert token != sent[RENDER_TOKEN_FIELD]
    assert f'value="{token}"' in body
    assert time.time() - rendered_at(token, form_page.pk) < 5

    resent = {
        **sent,
        RENDER_TOKEN_FIELD: make_render_token(form_page.pk, rendered_at(token, form_page.pk) - 5),
    }
    client.post(form_page.url, resent)
    assert Lead.objects.get().contact_name == "María José Ñandú"


@pytest.mark.django_db
def test_slow_enough_submission_passes_the_fill_time_guard(client, form_page, settings):
    settings.LEAD_FORM_MIN_FILL_SECONDS = 5
    client.post(form_page.url, submission(form_page, seconds_ago=6))
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_missing_or_forged_render_token_is_rejected(client, form_page, brands):
    data = submission(form_page)
    data[RENDER_TOKEN_FIELD] = "forged"
    _assert_rejected(client.post(form_page.url, data), form_page, RejectionReason.BAD_TOKEN)
    other = make_form_page(brands["intrapal"], "Contacto INTRAPAL")
    data[RENDER_TOKEN_FIELD] = make_render_token(other.pk, 0)  # a token of another form
    client.post(form_page.url, data)
    assert RejectedSubmission.objects.filter(reason=RejectionReason.BAD_TOKEN).count() == 2


@pytest.mark.django_db
def test_rate_limit_per_ip_is_configurable(client, form_page, settings):
    settings.LEAD_FORM_RATE_LIMIT = 2
    settings.LEAD_FORM_RATE_WINDOW = 60
    for _ in range(2):
        client.post(form_page.url, submission(form_page), REMOTE_ADDR="192.0.2.10")
    assert Lead.objects.count() == 2
    response = client.post(form_page.url, submission(form_page), REMOTE_ADDR="192.0.2.10")
    assert NEUTRAL in response.content.decode()
    assert Lead.objects.count() == 2
    assert RejectedSubmission.objects.get().reason == RejectionReason.RATE_LIMITED
    client.post(form_page.url, submission(form_page), REMOTE_ADDR="192.0.2.11")  # another client
    assert Lead.objects.count() == 3

    settings.LEAD_FORM_RATE_LIMIT = 0  # off
    client.post(form_page.url, submission(form_page), REMOTE_ADDR="192.0.2.10")
    assert Lead.objects.count() == 4


@pytest.mark.django_db
def test_rejections_are_counted_in_the_report(client, form_page, marketer, client_for):
    client.post(form_page.url, submission(form_page, honeypot="x"))
    client.post(form_page.url, submission(form_page, seconds_ago=0))
    response = client_for(marketer).get(f"/admin/lead-forms/reports/{form_page.pk}/")
    assert response.status_code == 200
    assert response.context["report"].rejected_total == 2
