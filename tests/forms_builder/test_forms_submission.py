"""A lead form page: a submission becomes a lead (mapped fields), a linked Wagtail submission and a behaviour log."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import IntegrityError
from django.utils import timezone

from core.jobs import get_queue, is_embedded
from core.visits import COOKIE_NAME
from crm.models import Campaign, Lead, LeadEvent, Service
from forms_builder import services
from forms_builder.models import FormDailyStats, FormFieldErrorDaily, LeadFormSubmission, SubmissionBehaviour
from tests.forms_support import VALID, make_form_page, submission

MOBILE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts with no submissions counted against its client address."""
    cache.clear()


@pytest.fixture
def form_page(brands, manager):
    return make_form_page(brands["intralog"], to_address=manager.email)


def _run_queued_jobs():
    """In embedded mode jobs ran at enqueue; with real Redis, run the queue once in this process."""
    if not is_embedded():
        from rq import SimpleWorker

        queue = get_queue("default")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)


@pytest.mark.django_db
def test_submission_creates_lead_with_mapped_fields_linked_submission_and_behaviour(
    client, form_page, django_capture_on_commit_callbacks
):
    url = form_page.url
    client.get(url, HTTP_REFERER="https://www.google.com/", HTTP_USER_AGENT=MOBILE_UA)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            submission(form_page),
            HTTP_USER_AGENT=MOBILE_UA,
            HTTP_ACCEPT_LANGUAGE="es-AR,es;q=0.9",
            REMOTE_ADDR="203.0.113.77",
        )
    assert response.status_code == 200
    assert "¡Gracias por escribirnos!" in response.content.decode()

    lead = Lead.objects.get()
    assert lead.brand == form_page.brand
    assert lead.contact_name == "María José Ñandú"
    assert lead.company == "Logística Austral S.A."
    assert lead.email == "maria@example.com"
    assert lead.phone == "011 4444-5555"
    assert lead.phone_e164 == "+541144445555"
    assert lead.location == "Córdoba"
    assert lead.service == Service.objects.get(brand=form_page.brand, name="Transporte")
    assert lead.service_text == "Transporte"
    assert lead.message == "Necesito mover 20 pallets\npor semana."
    assert lead.extra == {"Cantidad de pallets": "20"}
    assert lead.source.key == "web_form"
    assert lead.created_by is None
    assert lead.events.filter(kind=LeadEvent.Kind.CREATED).exists()

    record = LeadFormSubmission.objects.get()
    assert record.lead == lead and record.page_id == form_page.pk
    assert record.form_data["email"] == "  Maria@Example.COM ".strip()
    assert (lead.external_source, lead.external_form, lead.external_id) == (
        "lead_form",
        str(form_page.pk),
        str(record.pk),
    )

    behaviour = SubmissionBehaviour.objects.get()
    assert behaviour.submission == record
    assert behaviour.device == "mobile"
    assert behaviour.ip_prefix == "203.0.113.0/24"
    assert behaviour.language == "es-AR"
    assert behaviour.referrer == "https://www.google.com/"
    assert behaviour.landing_page.endswith(url)
    assert 25 <= behaviour.fill_seconds < 120
    assert behaviour.failed_attempts == 0

    _run_queued_jobs()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["manager1@example.com"]
    assert "María José Ñandú" in mail.outbox[0].body


@pytest.mark.django_db
def test_notification_is_queued_only_after_commit(client, form_page, django_capture_on_commit_callbacks):
    queue = get_queue("default")
    before = queue.count
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(form_page.url, submission(form_page))
    assert Lead.objects.count() == 1
    assert len(mail.outbox) == 0
    assert queue.count == before
    assert callbacks, "the notification waits for the commit"


@pytest.mark.django_db
def test_utm_parameters_carry_over_from_landing_to_submission(client, brands, form_page):
    campaign = Campaign.objects.create(
        name="Invierno", brand=brands["intralog"], utm_source="google", utm_campaign="invierno"
    )
    client.get("/?utm_source=Google&utm_medium=cpc&utm_campaign=invierno&utm_term=pallets")
    assert COOKIE_NAME in client.cookies
    client.get(form_page.url)  # no UTM here: the landing values stay
    client.post(form_page.url, submission(form_page))

    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign, lead.utm_term) == (
        "google",
        "cpc",
        "invierno",
        "pallets",
    )
    assert lead.campaign == campaign
    behaviour = SubmissionBehaviour.objects.get()
    assert (behaviour.utm_source, behaviour.utm_medium, behaviour.utm_campaign) == (
        "Google",
        "cpc",
        "invierno",
    )
    assert behaviour.landing_page.endswith(
        "/?utm_source=Google&utm_medium=cpc&utm_campaign=invierno&utm_term=pallets"
    )


@pytest.mark.django_db
def test_a_new_campaign_link_replaces_the_visit_utm(client, form_page):
    client.get("/?utm_source=facebook&utm_medium=social")
    client.get(form_page.url + "?utm_source=newsletter&utm_medium=email")
    client.post(form_page.url, submission(form_page))
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_medium) == ("newsletter", "email")


@pytest.mark.django_db
def test_forged_visit_cookie_is_ignored(client, form_page):
    client.cookies[COOKIE_NAME] = '{"u": {"utm_source": "forged"}}'
    client.get(form_page.url)
    client.post(form_page.url, submission(form_page))
    assert Lead.objects.get().utm_source == ""


@pytest.mark.django_db
def test_failed_attempts_before_success_are_logged_with_their_fields(client, form_page):
    client.get(form_page.url)
    bad = dict(VALID, email="not-an-email", telefono="12")
    first = client.post(form_page.url, submission(form_page, bad))
    assert first.status_code == 200 and "errorlist" in first.content.decode()
    client.post(form_page.url, submission(form_page, dict(VALID, nombre_y_apellido="")))
    assert Lead.objects.count() == 0 and LeadFormSubmission.objects.count() == 0

    client.post(form_page.url, submission(form_page))
    behaviour = SubmissionBehaviour.objects.get()
    assert behaviour.failed_attempts == 2
    assert behaviour.failed_fields == ["email", "nombre_y_apellido", "telefono"]

    stats = FormDailyStats.objects.get(page=form_page)
    assert stats.invalid_attempts == 2
    errors = dict(FormFieldErrorDaily.objects.filter(page=form_page).values_list("field_name", "errors"))
    assert errors == {"email": 1, "telefono": 1, "nombre_y_apellido": 1}

    client.post(form_page.url, submission(form_page))
    assert SubmissionBehaviour.objects.order_by("-pk").first().failed_attempts == 0


@pytest.mark.django_db
def test_views_are_counted_in_one_row_per_form_and_day(client, form_page, django_assert_max_num_queries):
    for _ in range(3):
        client.get(form_page.url)
    stats = FormDailyStats.objects.get()
    assert (stats.page_id, stats.day, stats.views) == (form_page.pk, timezone.localdate(), 3)
    other_day = timezone.localdate() - timezone.timedelta(days=1)
    services.record_view(form_page, day=other_day)
    assert FormDailyStats.objects.count() == 2
    with django_assert_max_num_queries(1):
        services.record_view(form_page)
    assert FormDailyStats.objects.get(day=timezone.localdate()).views == 4


@pytest.mark.django_db
def test_nothing_is_half_stored_when_the_lead_cannot_be_created(client, form_page, monkeypatch):
    def failing_create_lead(data, actor=None):
        raise IntegrityError("simulated failure inside the transaction")

    monkeypatch.setattr(services, "create_lead", failing_create_lead)
    with pytest.raises(IntegrityError):
        client.post(form_page.url, submission(form_page))
    assert LeadFormSubmission.objects.count() == 0
    assert SubmissionBehaviour.objects.count() == 0
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_unknown_service_falls_back_to_the_page_default(client, brands, form_page):
    default = Service.objects.get(brand=brands["intralog"], name="Comercio exterior")
    form_page.default_service = default
    form_page.save()
    client.post(form_page.url, submission(form_page, dict(VALID, me_interesa_el_servicio="Otro")))
    lead = Lead.objects.get()
    assert lead.service == default and lead.service_text == "Otro"


@pytest.mark.django_db
def test_render_counts_queries(client, form_page, django_assert_max_num_queries):
    client.get(form_page.url)
    with django_assert_max_num_queries(12):
        response = client.get(form_page.url)
    assert response.status_code == 200


@pytest.mark.django_db
def test_notifications_only_reach_people_who_may_read_the_brands_leads(
    brands, manager, other_manager, marketer, admin_user
):
    page = make_form_page(
        brands["intralog"],
        to_address=", ".join(
            [manager.email, other_manager.email, marketer.email, admin_user.email, "outside@example.org"]
        ),
    )
    record = LeadFormSubmission.objects.create(page=page, form_data={"email": "x@example.com"})
    from forms_builder.jobs import send_submission_notification

    send_submission_notification(record.pk)
    assert sorted(mail.outbox[0].to) == sorted([manager.email, admin_user.email])
