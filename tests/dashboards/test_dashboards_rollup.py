"""The team rollup kept by the event receivers equals the one rebuilt from the events, and costs
nothing when no person acted."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import intake, services
from crm.models import AssignmentRule, PipelineStatus, Service, Source
from dashboards import rollup
from dashboards.models import PersonDay

pytestmark = pytest.mark.django_db


def snapshot():
    """Rollup rows without the all-zero ones moves leave behind, as comparable tuples."""
    fields = [*rollup.KEY, *rollup.COUNTERS]
    return sorted(row for row in PersonDay.objects.values_list(*fields) if any(row[len(rollup.KEY) :]))


def per_person():
    totals = {}
    for row in PersonDay.objects.values("person_id", *rollup.COUNTERS):
        mine = totals.setdefault(row["person_id"], dict.fromkeys(rollup.COUNTERS, 0))
        for name in rollup.COUNTERS:
            mine[name] += row[name]
    return totals


@pytest.fixture
def catalogue(brands):
    return {
        "pallets": Service.objects.create(brand=brands["intralog"], name="Pallets"),
        "storage": Service.objects.create(brand=brands["intralog"], name="Storage"),
        "web": Source.objects.get(key="web_form"),
    }


def lead_data(brands, catalogue, name):
    return intake.LeadData(
        brand=brands["intralog"], contact_name=name, service=catalogue["pallets"], source=catalogue["web"]
    )


def test_receivers_keep_what_a_rebuild_computes(brands, catalogue, manager, employee, other_employee):
    lead = intake.create_lead(lead_data(brands, catalogue, "A"))
    assert not PersonDay.objects.exists()  # no person acted
    lead = services.assign(lead, employee, manager)
    services.log_contact_attempt(lead, employee, "phone", "no_answer")
    services.log_contact_attempt(lead, employee, "phone", "reached")
    services.log_contact_attempt(lead, other_employee, "email", "reached")
    lead = services.change_status(lead, "quoted", employee)
    lead = services.edit_lead(lead, manager, {"service": catalogue["storage"]})
    lead = services.change_status(lead, "won", employee)
    lead = services.change_status(lead, "interested", manager)
    lead = services.change_status(lead, "won", other_employee)
    services.add_note(lead, other_employee, "Signed again.")
    intake.create_lead(lead_data(brands, catalogue, "B"), manager)
    intake.create_leads([lead_data(brands, catalogue, "C"), lead_data(brands, catalogue, "D")], manager)

    kept = snapshot()
    mine = per_person()
    # employee1: two contacts, quoted, won; their first contact is the lead's first.
    assert mine[employee.pk] == {"activity": 4, "contacted": 1, "first_contacts": 1, "quoted": 1, "won": 1}
    # employee2: a contact (their first, not the lead's), a second win (not counted), a note.
    assert mine[other_employee.pk] == {
        "activity": 3,
        "contacted": 1,
        "first_contacts": 0,
        "quoted": 0,
        "won": 0,
    }
    # Every contribution of lead A sits under its current service and status.
    won = PipelineStatus.objects.get(key="won")
    rows_of_a = PersonDay.objects.filter(person_id__in=[employee.pk, other_employee.pk]).exclude(
        activity=0, contacted=0, first_contacts=0, quoted=0, won=0
    )
    assert {(row.service_id, row.status_id) for row in rows_of_a} == {(catalogue["storage"].pk, won.pk)}
    assert {row[0] for row in kept} == {timezone.localdate()}

    rollup.rebuild()
    assert snapshot() == kept


def test_batch_creation_adds_the_person_events_once(brands, catalogue, manager):
    intake.create_leads([lead_data(brands, catalogue, "C"), lead_data(brands, catalogue, "D")], manager)
    kept = snapshot()
    assert per_person()[manager.pk]["activity"] >= 2  # at least the two "created" events
    rollup.rebuild()
    assert snapshot() == kept


def test_leads_created_and_assigned_without_a_person_cost_no_rollup_query(
    brands, catalogue, employee, other_employee
):
    AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")
    intake.create_lead(lead_data(brands, catalogue, "first"))
    with CaptureQueriesContext(connection) as queries:
        lead = intake.create_lead(lead_data(brands, catalogue, "second"))
        intake.create_leads([lead_data(brands, catalogue, "third")])
    assert lead.assignee is not None
    assert not [query for query in queries.captured_queries if "dashboards_personday" in query["sql"]]
    assert not PersonDay.objects.exists()


def test_rebuild_counts_only_people(brands, catalogue, manager, employee):
    lead = intake.create_lead(lead_data(brands, catalogue, "A"))
    services.assign(lead, employee, manager)
    PersonDay.objects.all().delete()
    out = StringIO()
    call_command("rebuild_dashboards", stdout=out)
    assert "rollup rows" in out.getvalue()
    assert per_person() == {
        manager.pk: {"activity": 2, "contacted": 0, "first_contacts": 0, "quoted": 0, "won": 0}
    }


def test_demo_seed_fills_the_rollup(brands):
    call_command("seed_demo", "--leads", "40", stdout=StringIO())
    seeded = snapshot()
    assert sum(row[len(rollup.KEY)] for row in seeded) > 0  # activity of the demo team
    rollup.rebuild()
    assert snapshot() == seeded


def test_a_lead_a_person_creates_and_a_rule_assigns_is_filed_as_a_rebuild_files_it(
    brands, catalogue, manager, employee, other_employee
):
    AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")
    lead = intake.create_lead(lead_data(brands, catalogue, "by hand"), manager)
    assert lead.assignee is not None and lead.status.key == "assigned"
    kept = snapshot()
    assert {row.status_id for row in PersonDay.objects.filter(person_id=manager.pk)} == {lead.status_id}
    rollup.rebuild()
    assert snapshot() == kept
