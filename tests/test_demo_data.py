"""Demo leads: the generator is deterministic and its histories agree with the leads; seeding is idempotent
and writes what the service layer writes."""

from collections import Counter
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from crm import intake, services
from crm.demo.generator import BRAND_SERVICES, JOB_SEEKER_SERVICE, LeadGenerator
from crm.demo.leads import DEMO_EMPLOYEES, DEMO_MANAGERS, DEMO_SOURCE, seed_demo_leads, team_generator
from crm.models import Campaign, Lead, LeadEvent, PipelineStatus, Service
from crm.normalise import phone_to_e164
from crm.system_notes import render

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
SAMPLE = 2500


@pytest.fixture(scope="module")
def generator():
    return LeadGenerator(
        employees=DEMO_EMPLOYEES, managers=DEMO_MANAGERS, now=NOW, phone_normaliser=phone_to_e164
    )


@pytest.fixture(scope="module")
def sample(generator):
    return [generator.lead(index) for index in range(SAMPLE)]


def test_same_seed_same_leads_other_seed_other_leads(sample):
    again = LeadGenerator(
        employees=DEMO_EMPLOYEES, managers=DEMO_MANAGERS, now=NOW, phone_normaliser=phone_to_e164
    )
    assert [again.lead(index) for index in (0, 7, 500, 2499)] == [sample[i] for i in (0, 7, 500, 2499)]
    other = LeadGenerator(employees=DEMO_EMPLOYEES, managers=DEMO_MANAGERS, now=NOW, seed=99)
    assert [other.lead(index).email for index in range(20)] != [lead.email for lead in sample[:20]]


def test_sample_covers_every_status_both_brands_and_their_services(sample):
    statuses = Counter(lead.status for lead in sample)
    assert set(statuses) == {
        "pending", "assigned", "contacted", "to_quote", "quoted", "interested", "won", "postponed",
        "not_advanced", "not_viable", "new_client", "negative",
    }  # fmt: skip
    assert {lead.brand for lead in sample} == {"intralog", "intrapal"}
    for lead in sample:
        allowed = {name for name, _weight in BRAND_SERVICES[lead.brand]} | {JOB_SEEKER_SERVICE}
        assert lead.service_text in allowed
    assert min(lead.received_at for lead in sample) < datetime(2025, 7, 1, tzinfo=UTC)
    assert any(lead.campaign for lead in sample) and any(
        lead.utm_source and not lead.campaign for lead in sample
    )
    assert any(lead.duplicate_of is not None for lead in sample)


def test_contact_details_are_what_the_normalisers_make_of_them(sample):
    for lead in sample:
        assert lead.phone_e164 == phone_to_e164(lead.phone), lead.phone
        if "@" in lead.email and " " not in lead.email:
            assert lead.email == intake.normalise_email(lead.email)
    phones = [lead.phone for lead in sample]
    assert any(phone.startswith("+54 9 ") for phone in phones)
    assert any(phone.startswith("0") and " 15-" in phone for phone in phones)
    assert any(phone.startswith("(0") and " 15 " in phone for phone in phones)
    assert any(phone.startswith("+549") for phone in phones)
    assert any(phone.startswith("(0") and " 15 " not in phone for phone in phones)
    assert any(phone and not lead.phone_e164 for phone, lead in zip(phones, sample, strict=True))


def _status_trail(lead):
    """The status after each event, replayed from the history alone."""
    status = None
    for event in lead.events:
        if event.kind in ("created", "classified") and event.to_value in {"pending", "negative"}:
            status = event.to_value
        if event.kind == "status_changed":
            assert event.from_value == status, (lead.index, event)
            status = event.to_value
    return status


def test_every_history_agrees_with_its_lead(sample):
    for lead in sample:
        events = lead.events
        assert [event.created_at for event in events] == sorted(event.created_at for event in events)
        assert events[0].kind == "created" and events[0].created_at == lead.received_at
        assert events[1].kind == "classified" and events[1].to_value == events[0].to_value
        assert all(lead.received_at <= event.created_at <= NOW for event in events)
        assert _status_trail(lead) == lead.status
        changes = [event for event in events if event.kind == "status_changed"]
        assert lead.status_changed_at == (changes[-1].created_at if changes else lead.received_at)
        attempts = [event for event in events if event.kind == "contact_attempt"]
        assert lead.first_contacted_at == (attempts[0].created_at if attempts else None)
        assignments = [event for event in events if event.kind == "assigned"]
        assert lead.assignee == (assignments[-1].to_value if assignments else None)
        assert lead.assigned_at == (assignments[-1].created_at if assignments else None)
        assert lead.last_activity_at == events[-1].created_at
        if lead.assignee:
            assert lead.assignee in DEMO_EMPLOYEES[lead.brand]
        for change in changes:
            if change.to_value in ("not_advanced", "not_viable"):
                assert change.note, "lost and not-viable leads need a reason"
        if lead.service_text == JOB_SEEKER_SERVICE:
            assert lead.status == "negative" and lead.assignee is None and lead.skip_alerts


def test_repeats_copy_their_original_and_come_after_it(generator, sample):
    repeats = [lead for lead in sample if lead.duplicate_of is not None]
    for lead in repeats:
        original = sample[lead.duplicate_of]
        assert original.duplicate_of is None
        assert (lead.brand, lead.email, lead.phone_e164) == (
            original.brand,
            original.email,
            original.phone_e164,
        )
        assert lead.received_at > original.received_at
        assert "duplicate" in lead.tags


def test_seed_demo_leads_is_idempotent_and_matches_the_database(db, brands):
    call_command("seed_demo", "--leads", "0", stdout=StringIO())
    assert seed_demo_leads(200, now=NOW) == 200
    assert seed_demo_leads(200, now=NOW) == 0
    assert seed_demo_leads(240, now=NOW) == 40
    leads = Lead.objects.filter(external_source=DEMO_SOURCE)
    assert leads.count() == 240
    assert sorted(int(pk) for pk in leads.values_list("external_id", flat=True)) == list(range(240))
    assert Campaign.objects.filter(spend__gt=0).count() >= 4

    statuses = dict(PipelineStatus.objects.values_list("pk", "key"))
    for lead in leads.prefetch_related("events", "tags"):
        events = sorted(lead.events.all(), key=lambda event: (event.created_at, event.pk))
        changes = [event for event in events if event.kind == LeadEvent.Kind.STATUS_CHANGED]
        expected = changes[-1].to_value if changes else events[0].to_value
        assert statuses[lead.status_id] == expected
        assert lead.updated_at == lead.last_activity_at == events[-1].created_at
        if lead.duplicate_of_id:
            original = Lead.objects.get(pk=lead.duplicate_of_id)
            assert original.email == lead.email and original.received_at < lead.received_at
            assert "duplicate" in lead.tags.names()
            note = render(next(event.note for event in events if event.data.get("duplicate_of")))
            assert note == f"Repeats lead #{original.pk}."
        if lead.service_id:
            assert Service.objects.get(pk=lead.service_id).brand_id == lead.brand_id


def test_demo_events_are_the_ones_the_service_layer_writes(db, brands, manager, employee):
    """A job seeker created and assigned through ``crm.services`` leaves events shaped like the demo's."""
    seed_demo_leads(120, now=NOW)
    real = intake.create_lead(
        intake.LeadData(brand=brands["intralog"], contact_name="Juan Pérez", service_text=JOB_SEEKER_SERVICE)
    )
    real_classified = real.events.get(kind=LeadEvent.Kind.CLASSIFIED)
    generator = team_generator(now=NOW)
    index = next(i for i in range(120) if generator.lead(i).service_text == JOB_SEEKER_SERVICE)
    demo = Lead.objects.get(external_source=DEMO_SOURCE, external_id=str(index))
    demo_classified = demo.events.get(kind=LeadEvent.Kind.CLASSIFIED, data__has_key="rules")
    assert (demo.status_id, demo.classification_reason, demo.skip_alerts) == (
        real.status_id,
        real.classification_reason,
        real.skip_alerts,
    )
    assert (
        demo_classified.from_value,
        demo_classified.to_value,
        demo_classified.note,
        demo_classified.data,
    ) == (
        real_classified.from_value,
        real_classified.to_value,
        real_classified.note,
        real_classified.data,
    )
    assert set(demo.tags.names()) == set(real.tags.names())

    other = intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name="Ana Díaz"))
    services.assign(other, employee, actor=manager)
    real_assigned = other.events.get(kind=LeadEvent.Kind.ASSIGNED)
    demo_assigned = LeadEvent.objects.filter(
        lead__external_source=DEMO_SOURCE, lead__duplicate_of__isnull=True, kind=LeadEvent.Kind.ASSIGNED
    ).first()
    assert set(demo_assigned.data) == set(real_assigned.data)
    real_kinds = list(other.events.order_by("created_at", "pk").values_list("kind", "to_value"))
    demo_lead = demo_assigned.lead
    demo_kinds = list(demo_lead.events.order_by("created_at", "pk").values_list("kind", "to_value"))
    assert demo_kinds[:4] == [
        ("created", "pending"),
        ("classified", "pending"),
        ("assigned", demo_lead.events.get(pk=demo_assigned.pk).to_value),
        ("status_changed", "assigned"),
    ]
    assert [kind for kind, _value in real_kinds] == [kind for kind, _value in demo_kinds[:4]]
