"""A render token is single-use: one page load submits once, so the minimum fill time counts per submission."""

import re

import pytest
from django.core.cache import cache

from crm.models import Lead
from forms_builder.forms import RENDER_TOKEN_FIELD
from forms_builder.guards import make_render_token
from forms_builder.models import RejectedSubmission, RejectionReason
from tests.forms_support import VALID, make_form_page, submission

ALREADY_RECEIVED = "We already received the form sent from this page."
TOO_OLD = "This page was open for too long."


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def form_page(brands):
    return make_form_page(brands["intralog"])


def rendered_token(client, page):
    html = client.get(page.url).content.decode()
    return re.search(rf'name="{RENDER_TOKEN_FIELD}" value="([^"]+)"', html).group(1)


@pytest.mark.django_db
def test_one_page_load_submits_once(client, form_page, settings):
    """A bot that loads the page once and waits out the fill time gets one lead, not one per POST."""
    settings.LEAD_FORM_MIN_FILL_SECONDS = 0
    token = rendered_token(client, form_page)
    responses = [
        client.post(form_page.url, {**VALID, "email": f"bot{n}@example.com", RENDER_TOKEN_FIELD: token})
        for n in range(3)
    ]
    assert Lead.objects.count() == 1
    assert "¡Gracias" in responses[0].content.decode()
    for response in responses[1:]:
        body = response.content.decode()
        assert response.status_code == 200
        assert ALREADY_RECEIVED in body and "¡Gracias" not in body
    assert (
        list(RejectedSubmission.objects.values_list("reason", flat=True))
        == [RejectionReason.REUSED_TOKEN] * 2
    )


@pytest.mark.django_db
def test_a_fresh_page_load_can_submit_again(client, form_page):
    data = submission(form_page)
    client.post(form_page.url, data)
    client.post(form_page.url, submission(form_page, {**VALID, "email": "otra@example.com"}))
    assert Lead.objects.count() == 2
    assert not RejectedSubmission.objects.exists()


@pytest.mark.django_db
def test_an_invalid_submission_does_not_use_up_the_token(client, form_page):
    data = submission(form_page)
    invalid = client.post(form_page.url, {**data, "email": "not-an-email"})
    assert "Please correct the fields marked below." in invalid.content.decode()
    client.post(form_page.url, data)
    assert Lead.objects.count() == 1
    assert not RejectedSubmission.objects.exists()


@pytest.mark.django_db
def test_a_token_too_old_is_refused_with_a_clear_message(client, form_page, settings):
    settings.LEAD_FORM_TOKEN_MAX_AGE = 3600
    response = client.post(form_page.url, submission(form_page, seconds_ago=3700))
    assert TOO_OLD in response.content.decode()
    assert not Lead.objects.exists()
    assert RejectedSubmission.objects.get().reason == RejectionReason.EXPIRED_TOKEN


@pytest.mark.django_db
def test_each_rendering_has_its_own_token(client, form_page):
    assert rendered_token(client, form_page) != rendered_token(client, form_page)
    assert make_render_token(form_page.pk, 1.0) != make_render_token(form_page.pk, 1.0)


@pytest.mark.django_db
def test_a_submission_whose_storing_failed_is_stored_when_sent_again(client, form_page, monkeypatch):
    """The token is claimed with the submission: a POST that died midway (here: storing raised), sent again
    by the visitor or a proxy, is stored, and once."""
    from forms_builder import services

    data = submission(form_page)
    real = services.submit_lead_form

    def dies_once(*args, **kwargs):
        monkeypatch.setattr(services, "submit_lead_form", real)
        real(*args, **kwargs)
        raise ConnectionResetError

    monkeypatch.setattr(services, "submit_lead_form", dies_once)
    client.raise_request_exception = False
    assert client.post(form_page.url, data).status_code == 500
    assert not Lead.objects.exists()

    assert "¡Gracias" in client.post(form_page.url, data).content.decode()
    again = client.post(form_page.url, data).content.decode()
    assert Lead.objects.count() == 1
    assert ALREADY_RECEIVED in again


@pytest.mark.django_db
def test_the_form_is_sent_to_its_page_with_its_query_and_a_once_mark(client, form_page):
    html = client.get(
        form_page.url, {"utm_source": "feria", "once": "stale-key-from-before"}
    ).content.decode()
    action = re.search(r'<form action="([^"]+)" method="post"', html).group(1).replace("&amp;", "&")
    path, query = action.split("?")
    assert path == form_page.url
    assert query.startswith("utm_source=feria&once=") and "stale" not in query
