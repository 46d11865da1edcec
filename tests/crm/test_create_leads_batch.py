"""``crm.intake.create_leads``: the batch path gives what creating the leads one by one gives."""

import re

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import ModelLogEntry

from core.bulk import COPY_FROM, build
from crm import intake
from crm.models import AssignmentRule, ClassificationRule, Lead, LeadEvent, PipelineStatus, Service
from crm.signals import lead_event_recorded, lead_events_recorded
from crm.system_notes import render

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(brands, employee, other_employee, manager):
    negative = PipelineStatus.objects.get(key="negative")
    ClassificationRule.objects.create(
        name="Job seekers", order=1, field="message", pattern="trabajo", set_status=negative, add_tags="job"
    )
    ClassificationRule.objects.create(name="Urgent", order=2, field="company", pattern="SA", set_priority=4)
    storage = Service.objects.create(brand=brands["intralog"], name="Depósito")
    AssignmentRule.objects.create(
        name="Storage to the manager",
        order=1,
        brand=brands["intralog"],
        service=storage,
        mode="fixed",
        owner=manager,
    )
    robin = AssignmentRule.objects.create(
        name="Everyone", order=2, brand=brands["intralog"], mode="round_robin"
    )
    return {"storage": storage, "robin": robin}


def drafts(brands, rules, padding=0):
    """Nine drafts that classify, link and assign in every way; ``padding`` more plain ones after them."""
    intralog, intrapal = brands["intralog"], brands["intrapal"]

    def draft(number, brand=intralog, **fields):
        return intake.LeadData(brand=brand, external_source="test", external_id=str(number), **fields)

    return [
        draft(1, contact_name="Ana", email="ana@acme.com", company="Acme SA", tags=["web"]),
        draft(2, contact_name="Ana otra vez", email=" ANA@acme.com", phone="011 4555-1234"),
        draft(3, contact_name="Beto", phone="+54 11 4555 1234"),
        draft(4, contact_name="Caro", email="caro@acme.com", service=rules["storage"]),
        draft(5, contact_name="Dani", message="Busco trabajo", email="dani@acme.com"),
        draft(6, contact_name="Eli", email="old@acme.com"),
        draft(7, brand=intrapal, contact_name="Fede", email="ana@acme.com"),
        draft(8, contact_name="Gabi", email="gabi@acme.com", tags=["web", "feria"]),
        draft(9, contact_name="Hugo"),
        *(draft(10 + number, contact_name=f"Persona {number}") for number in range(padding)),
    ]


def describe(leads, previous):
    """Everything the creation decided, with primary keys replaced by positions so two runs compare."""
    names = {lead.pk: f"new{index}" for index, lead in enumerate(leads)} | {previous.pk: "previous"}

    def name(value):
        return re.sub(r"#(\d+)", lambda match: "#" + names.get(int(match.group(1)), "?"), str(value))

    result = []
    for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]).order_by("pk"):
        events = []
        for event in lead.events.order_by("pk"):
            data = dict(event.data)
            for key in ("duplicate_of", "rule"):
                if key in data:
                    data[key] = names.get(data[key], "rule") if key == "duplicate_of" else "rule"
            events.append(
                (event.kind, event.actor_id, event.from_value, event.to_value, name(render(event.note)), data)
            )
        logs = list(
            ModelLogEntry.objects.filter(object_id=str(lead.pk))
            .order_by("pk")
            .values_list("action", "label", "user_id", "data__from", "data__to")
        )
        result.append(
            {
                "status": lead.status.key,
                "assignee": lead.assignee.username if lead.assignee else None,
                "duplicate_of": names.get(lead.duplicate_of_id),
                "priority": lead.priority,
                "skip_alerts": lead.skip_alerts,
                "reason": lead.classification_reason,
                "email": lead.email,
                "phone_e164": lead.phone_e164,
                "tags": sorted(lead.tags.names()),
                "events": events,
                "logs": logs,
                "assigned_at_set": lead.assigned_at is not None,
            }
        )
    return result


# Padded, the batch is large enough for ``COPY`` on PostgreSQL (``core.bulk.COPY_FROM``).
@pytest.mark.parametrize("padding", [0, COPY_FROM])
def test_batch_gives_what_one_by_one_gives(brands, rules, manager, padding):
    previous = intake.create_lead(intake.LeadData(brand=brands["intralog"], email="old@acme.com"))
    robin = AssignmentRule.objects.get(pk=rules["robin"].pk)

    one_by_one = [intake.create_lead(data, actor=manager) for data in drafts(brands, rules, padding)]
    expected = describe(one_by_one, previous)
    robin_after = AssignmentRule.objects.values_list("last_assignee_id", "assigned_count").get(pk=robin.pk)
    Lead.objects.filter(pk__in=[lead.pk for lead in one_by_one]).delete()
    AssignmentRule.objects.filter(pk=robin.pk).update(
        last_assignee=robin.last_assignee_id, assigned_count=robin.assigned_count
    )

    batch = intake.create_leads(drafts(brands, rules, padding), actor=manager)
    got = describe(batch, previous)
    assert len(got) == len(expected)
    for index, (lead, want) in enumerate(zip(got, expected, strict=True)):
        for key, value in want.items():
            assert lead[key] == value, (index, key)
    assert (
        AssignmentRule.objects.values_list("last_assignee_id", "assigned_count").get(pk=robin.pk)
        == robin_after
    )
    assert [lead.external_id for lead in batch] == [str(number) for number in range(1, 10 + padding)]

    by_name = {item["email"] or item["phone_e164"] or str(index): item for index, item in enumerate(expected)}
    assert by_name["ana@acme.com"]["duplicate_of"] is None
    assert expected[1]["duplicate_of"] == "new0" and expected[2]["duplicate_of"] == "new0"
    assert expected[5]["duplicate_of"] == "previous"
    assert expected[6]["duplicate_of"] is None
    assert expected[3]["assignee"] == manager.username
    assert expected[4]["status"] == "negative" and expected[4]["assignee"] is None
    assert {item["assignee"] for item in expected if item["status"] == "assigned"} >= {
        "employee1",
        "employee2",
    }


def test_earlier_in_batch_is_the_original_and_chains_point_at_the_root(brands):
    intralog = brands["intralog"]
    first, second, third = intake.create_leads(
        [
            intake.LeadData(brand=intralog, email="a@acme.com"),
            intake.LeadData(brand=intralog, email="A@acme.com ", phone="011 4555-1234"),
            intake.LeadData(brand=intralog, phone="+541145551234"),
        ]
    )
    assert first.duplicate_of_id is None
    assert second.duplicate_of_id == first.pk and third.duplicate_of_id == first.pk
    third.refresh_from_db()
    assert third.duplicate_of_id == first.pk and "duplicate" in third.tags.names()
    note = render(third.events.get(kind="classified", to_value="duplicate").note)
    assert f"#{first.pk}" in note


def test_a_batch_written_with_copy_links_its_repeats_as_it_inserts_them(brands):
    """On PostgreSQL the leads' keys are known before ``COPY``: a repeat of an earlier lead of the batch is
    inserted linked, not updated after (which would write all its index entries again)."""
    intralog = brands["intralog"]
    batch = [
        intake.LeadData(brand=intralog, email=f"persona{number}@acme.com") for number in range(COPY_FROM)
    ]
    batch += [intake.LeadData(brand=intralog, email="PERSONA3@acme.com")]
    with CaptureQueriesContext(connection) as queries:
        leads = intake.create_leads(batch)
    assert leads[-1].duplicate_of_id == leads[3].pk
    assert Lead.objects.get(pk=leads[-1].pk).duplicate_of_id == leads[3].pk
    assert Lead.objects.filter(duplicate_of__isnull=False).count() == 1
    updates = [query["sql"] for query in queries if query["sql"].startswith('UPDATE "crm_lead"')]
    assert not updates or connection.vendor != "postgresql"


def test_a_saved_lead_submitted_first_is_the_original_of_the_batch_leads_it_groups_with(brands):
    """``second`` shares the phone of ``saved`` and the email of ``first``: the three are one group, whose
    original is its earliest submission (the saved lead), whichever arrives first."""
    intralog = brands["intralog"]
    saved = intake.create_lead(intake.LeadData(brand=intralog, phone="011 4555-1234"))
    first, second = intake.create_leads(
        [
            intake.LeadData(brand=intralog, email="b@acme.com"),
            intake.LeadData(brand=intralog, email="b@acme.com", phone="+541145551234"),
        ]
    )
    assert first.duplicate_of_id == saved.pk
    assert second.duplicate_of_id == saved.pk
    saved.refresh_from_db()
    assert saved.duplicate_of_id is None


def test_round_robin_takes_turns_across_the_batch_and_after_it(brands, employee, other_employee):
    rule = AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")
    leads = intake.create_leads(
        [intake.LeadData(brand=brands["intralog"], contact_name=f"L{n}") for n in range(5)]
    )
    assert [lead.assignee for lead in leads] == [employee, other_employee, employee, other_employee, employee]
    assert all(lead.status.key == "assigned" for lead in leads)
    rule.refresh_from_db()
    assert rule.last_assignee == employee and rule.assigned_count == 5
    after = intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name="Next"))
    assert after.assignee == other_employee


def test_one_signal_with_every_event_and_the_lead_as_it_was(brands, employee):
    AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")
    batches, single = [], []
    lead_events_recorded.connect(
        lambda sender, events, **kw: batches.append(events), dispatch_uid="t-batch", weak=False
    )
    lead_event_recorded.connect(
        lambda sender, event, **kw: single.append(event), dispatch_uid="t-single", weak=False
    )
    try:
        leads = intake.create_leads(
            [intake.LeadData(brand=brands["intralog"], email=f"{n}@acme.com") for n in range(3)]
        )
    finally:
        lead_events_recorded.disconnect(dispatch_uid="t-batch")
        lead_event_recorded.disconnect(dispatch_uid="t-single")
    assert single == [] and len(batches) == 1
    events = batches[0]
    assert {event.pk for event in events} == set(LeadEvent.objects.values_list("pk", flat=True))
    assert [event.kind for event in events[:4]] == ["created", "classified", "assigned", "status_changed"]
    created, _classified, assigned, changed = events[:4]
    assert created.lead.pk == leads[0].pk
    assert created.lead.assignee_id is None and created.lead.status.key == "pending"
    assert assigned.lead.assignee_id == employee.pk and changed.lead.status.key == "pending"
    assert leads[0].status.key == "assigned"


def test_existing_and_repeated_external_references_are_skipped(brands):
    intralog = brands["intralog"]
    saved = intake.create_lead(intake.LeadData(brand=intralog, external_source="s", external_id="1"))
    result = intake.create_leads(
        [
            intake.LeadData(brand=intralog, external_source="s", external_id="1"),
            intake.LeadData(brand=intralog, external_source="s", external_id="2"),
            intake.LeadData(brand=intralog, external_source="s", external_id="2"),
        ]
    )
    assert result[0] is None and result[2] is None and result[1].external_id == "2"
    assert Lead.objects.filter(external_source="s").count() == 2
    with pytest.raises(IntegrityError):
        intake.create_lead(
            intake.LeadData(brand=intralog, external_source="s", external_id=saved.external_id)
        )


def test_empty_batch(brands):
    assert intake.create_leads([]) == []


def test_built_instances_are_what_the_model_builds_and_init_listeners_still_hear_them(brands):
    from django.db.models.signals import post_init

    values = {"contact_name": "Ana", "email": "ana@example.com", "priority": 3}
    built = build(Lead, values, {"brand": brands["intralog"]})
    own = Lead(brand=brands["intralog"], **values)
    plain = [
        field.attname
        for field in Lead._meta.concrete_fields
        if not (field.has_default() and callable(field.default))
    ]
    assert [getattr(built, name) for name in plain] == [getattr(own, name) for name in plain]
    assert (built._state.adding, built._state.db) == (True, None)
    assert built.brand is brands["intralog"]

    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance)

    post_init.connect(listener, sender=Lead)
    try:
        again = build(Lead, values, {"brand": brands["intralog"]})
    finally:
        post_init.disconnect(listener, sender=Lead)
    assert heard == [again]
    assert again.brand is brands["intralog"] and again.contact_name == "Ana"
