"""A lead form page that requires consent: no box, no lead; ticked, the lead keeps the policy version and time."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from crm.models import Lead
from forms_builder.forms import CONSENT_FIELD, LeadFormPageAdminForm
from forms_builder.models import LeadFormPage, LeadFormSubmission
from tests.forms_support import make_form_page, submission


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def consent_page(brands):
    return make_form_page(
        brands["intralog"],
        consent_required=True,
        consent_label="Acepto la política de privacidad de INTRALOG",
        consent_policy_version="2026-03",
    )


@pytest.mark.django_db
def test_the_form_shows_the_consent_box(client, consent_page):
    body = client.get(consent_page.url).content.decode()
    assert f'name="{CONSENT_FIELD}"' in body
    assert "Acepto la política de privacidad de INTRALOG" in body


@pytest.mark.django_db
def test_without_the_box_ticked_no_lead_is_made(client, consent_page):
    response = client.post(consent_page.url, submission(consent_page))
    assert response.status_code == 200
    assert "Tick the box to agree before sending the form." in response.content.decode()
    assert not Lead.objects.exists()
    assert not LeadFormSubmission.objects.exists()


@pytest.mark.django_db
def test_with_the_box_ticked_the_lead_keeps_version_and_time(client, consent_page):
    before = timezone.now()
    data = submission(consent_page)
    data[CONSENT_FIELD] = "on"
    response = client.post(consent_page.url, data)
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.consent_version == "2026-03"
    assert lead.consent_at is not None and before <= lead.consent_at <= timezone.now()
    assert CONSENT_FIELD not in str(lead.extra)
    assert LeadFormSubmission.objects.get().form_data[CONSENT_FIELD] is True


@pytest.mark.django_db
def test_a_form_without_consent_records_none(client, brands):
    page = make_form_page(brands["intralog"])
    body = client.get(page.url).content.decode()
    assert CONSENT_FIELD not in body
    client.post(page.url, submission(page))
    lead = Lead.objects.get()
    assert lead.consent_version == ""
    assert lead.consent_at is None


@pytest.mark.django_db
def test_requiring_consent_needs_a_policy_version(consent_page):
    page = LeadFormPage.objects.get(pk=consent_page.pk)
    form_class = page.get_edit_handler().get_form_class()
    data = {
        "title": page.title,
        "slug": page.slug,
        "brand": page.brand_id,
        "consent_required": "on",
        "consent_policy_version": "",
        "form_fields-TOTAL_FORMS": "0",
        "form_fields-INITIAL_FORMS": "0",
        "form_fields-MIN_NUM_FORMS": "0",
        "form_fields-MAX_NUM_FORMS": "1000",
    }
    form = form_class(data, instance=page, for_user=None)
    assert issubclass(form_class, LeadFormPageAdminForm)
    assert not form.is_valid()
    assert "consent_policy_version" in form.errors
