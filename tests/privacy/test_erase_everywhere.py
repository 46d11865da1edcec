"""A person entered through every intake path, then erased: no column of any table holds their data any
more, the dashboards' facts stay, and no sync, re-read, replay, form or message brings them back."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from alerts.models import AlertRule, Notification
from conversations.models import Message
from crm import followups, services
from crm.intake import LeadData, PersonErased, create_lead
from crm.models import Lead, LeadEvent, Source
from forms_builder.models import LeadFormSubmission
from privacy import services as privacy
from privacy.models import PrivacyRequest
from tests.conversations_support import *  # noqa: F403 - fixtures
from tests.conversations_support import inbound, post_webhook, text_message
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from tests.fake_wordpress import run_queued_jobs
from tests.forms_support import VALID, make_form_page, submission
from tests.wordpress.test_wordpress_webhooks import signed_headers, signed_url
from wordpress.models import Submission, WebhookDelivery
from wordpress.reconcile import reconcile
from wordpress.sync import sync_source

from .support import COMPANY, E164, EMAIL, LOCATION, MESSAGE, NAME, PHONE, find_person

WP_FIELDS = {
    "Nombre y apellido": NAME,
    "Email": EMAIL,
    "Teléfono": PHONE,
    "Razón social": COMPANY,
    "Ubicación": LOCATION,
    "Me interesa el servicio": "Compra de pallets",
    "Mensaje": MESSAGE,
}
WEBHOOK_BODY = {
    "Nombre y apellido": NAME,
    "Email": EMAIL,
    "Teléfono": PHONE,
    "Me interesa el servicio": "Compra de pallets",
    "Mensaje": MESSAGE,
    "form_id": "7",
    "form_name": "Contacto INTRAPAL",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def _form_values():
    return {
        **VALID,
        "nombre_y_apellido": NAME,
        "razon_social": COMPANY,
        "email": EMAIL,
        "telefono": PHONE,
        "ubicacion": LOCATION,
        "mensaje": MESSAGE,
    }


def _post_wordpress_webhook(client, source, delivery):
    body = json.dumps(WEBHOOK_BODY).encode()
    response = client.post(
        signed_url(source), data=body, content_type="application/json", **_headers(source, body, delivery)
    )
    run_queued_jobs("high")
    return response


def _headers(source, body, delivery):
    return {
        f"HTTP_{key.upper().replace('-', '_')}": value
        for key, value in signed_headers(source, body, delivery).items()
    }


@pytest.fixture
def filled(
    client,
    brands,
    admin_user,
    employee,
    manager,
    fake_wp,
    make_source,
    whatsapp_env,
    committing,
    django_capture_on_commit_callbacks,
):
    """The person through the WordPress sync, a WordPress webhook, a form page, WhatsApp, by hand, and in
    notes, contact attempts, edits, follow-ups and a merge; alerts about them to staff."""
    AlertRule.objects.create(name="Cada lead nuevo", trigger="new_lead", notify_brand_managers=True)
    source = make_source(fake_wp)
    wp_id = fake_wp.add("3", fields=WP_FIELDS)
    with committing():
        assert sync_source(source).status == "succeeded"
    synced = Lead.objects.get(external_source=source.external_key, external_id=str(wp_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_wordpress_webhook(client, source, "d-zq-1").status_code == 202
    run_queued_jobs()
    page = make_form_page(brands["intralog"], to_address=manager.email)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(page.url, submission(page, _form_values())).status_code == 200
    with committing():
        assert (
            post_webhook(
                client, inbound(text_message(f"Hola, soy {NAME}: {MESSAGE}", sender=E164), name=NAME)
            ).status_code
            == 200
        )
    by_hand = create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name=NAME,
            company=COMPANY,
            email=EMAIL,
            phone=PHONE,
            message=MESSAGE,
            location=LOCATION,
            source=Source.objects.get(key="phone"),
            created_by=admin_user,
        ),
        actor=admin_user,
    )
    services.add_note(synced, admin_user, f"Llamé a {NAME} al {PHONE}")
    services.log_contact_attempt(synced, admin_user, "phone", "reached", note=f"Habló {NAME}, mail {EMAIL}")
    services.edit_lead(synced, admin_user, {"location": f"{LOCATION} norte"})
    followups.schedule_follow_up(
        synced, admin_user, due_at=timezone.now() + timedelta(days=1), note=f"Volver a llamar a {NAME}"
    )
    services.merge_leads(by_hand, synced, admin_user)
    leads = Lead.objects.filter(pk__in=privacy.find_person("email", EMAIL).lead_ids)
    assert find_person(), "the person is in the database before the erasure"
    return {"source": source, "wp_id": wp_id, "page": page, "leads": list(leads)}


@pytest.mark.django_db(transaction=False)
def test_erasing_a_person_leaves_no_trace_in_any_column(client, filled, admin_user, brands):
    leads = filled["leads"]
    assert {lead.brand.code for lead in leads} == {"intralog", "intrapal"}
    assert len(leads) >= 4
    assert Message.objects.filter(lead__in=leads).exists()
    assert LeadFormSubmission.objects.filter(lead__in=leads).exists()
    assert Submission.objects.filter(lead__in=leads).count() == 2
    assert Notification.objects.filter(lead__in=leads).exists()
    facts = sorted(
        (
            lead.pk,
            lead.brand_id,
            lead.status_id,
            lead.service_id,
            lead.source_id,
            lead.campaign_id,
            lead.submitted_at,
        )
        for lead in leads
    )
    events_before = LeadEvent.objects.filter(lead__in=leads).count()

    request = privacy.erase_person("email", EMAIL, admin_user)

    assert find_person() == []
    assert sorted(request.lead_ids) == sorted(lead.pk for lead in leads)
    assert request.completed_at is not None and request.due_on > timezone.localdate()
    after = Lead.objects.filter(pk__in=[lead.pk for lead in leads])
    assert (
        sorted(
            (
                lead.pk,
                lead.brand_id,
                lead.status_id,
                lead.service_id,
                lead.source_id,
                lead.campaign_id,
                lead.submitted_at,
            )
            for lead in after
        )
        == facts
    )
    assert LeadEvent.objects.filter(lead__in=leads, kind=LeadEvent.Kind.ANONYMISED).count() == len(leads)
    assert LeadEvent.objects.filter(lead__in=leads).count() == events_before + len(leads)


@pytest.mark.django_db(transaction=False)
def test_nothing_brings_an_erased_person_back(
    client, filled, admin_user, fake_wp, committing, django_capture_on_commit_callbacks
):
    source, page = filled["source"], filled["page"]
    privacy.erase_person("phone", PHONE, admin_user)
    count, submissions = Lead.objects.count(), set(Submission.objects.values_list("pk", flat=True))

    with committing():
        sync_source(source)
        sync_source(source, full=True)
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_wordpress_webhook(client, source, "d-zq-2").status_code in (200, 202)
    run_queued_jobs()
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(page.url, submission(page, _form_values())).status_code == 200
    with committing():
        post_webhook(client, inbound(text_message(f"Soy {NAME} otra vez", sender=E164), name=NAME))
    with pytest.raises(PersonErased):
        create_lead(LeadData(brand=filled["leads"][0].brand, contact_name=NAME, email=EMAIL))

    assert Lead.objects.count() == count
    refused = Submission.objects.exclude(pk__in=submissions)
    assert [(sub.state, sub.payload, sub.lead_id) for sub in refused] == [("dismissed", {}, None)]
    assert find_person() == []
    report = reconcile(source)
    assert str(filled["wp_id"]) not in report["3"]["missing"]


@pytest.mark.django_db(transaction=False)
def test_the_export_holds_what_every_path_brought(client, filled, admin_user):
    logged, sections = privacy.export_person("email", EMAIL, admin_user)
    text = json.dumps(sections, default=str, ensure_ascii=False)
    for table in (
        "leads",
        "lead_events",
        "wordpress_submissions",
        "wordpress_webhook_bodies",
        "form_submissions",
        "messages",
        "message_webhook_bodies",
        "notifications",
        "follow_ups",
        "conversations",
    ):
        assert sections[table], table
    assert NAME in text and MESSAGE in text and EMAIL.lower() in text.lower()
    assert logged.action == PrivacyRequest.Action.EXPORT and logged.completed_at is not None
    assert "zenobia" not in json.dumps([logged.outcome, logged.subject_hash, logged.brands]).lower()
