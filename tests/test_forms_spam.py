"""Spam guards: honeypot, minimum fill time, forged token, rate limit per IP. Rejections make no lead."""

import pytest
from django.core.cache import cache

from crm.models import Lead
from forms_builder.forms import RENDER_TOKEN_FIELD
from forms_builder.guards import make_render_token
from forms_builder.models import LeadFormSubmission, RejectedSubmission, RejectionReason
from tests.forms_support import make_form_page, submission

NEUTRAL = "We could not process this submission."


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
    settings.LEAD_FORM_MIN_FILL_SECONDS = 5
    response = client.post(form_page.url, submission(form_page, seconds_ago=1))
    rejection = _assert_rejected(response, form_page, RejectionReason.TOO_FAST)
    assert rejection.fill_seconds < 5


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
