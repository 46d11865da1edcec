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
from dashboards.models import PersonBrandDay, PersonDay

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


def brand_days():
    """The sums per day, person and brand, as kept (all-zero rows left out)."""
    fields = [*rollup.BRAND_KEY, *rollup.COUNTERS]
    rows = PersonBrandDay.objects.values_list(*fields)
    return sorted(row for row in rows if any(row[len(rollup.BRAND_KEY) :]))


def person_days_by_brand():
    """``PersonDay`` added up per day, person and brand."""
    sums = {}
    for row in PersonDay.objects.values(*rollup.KEY, *rollup.COUNTERS):
        key = tuple(row[name] for name in rollup.BRAND_KEY)
        mine = sums.setdefault(key, dict.fromkeys(rollup.COUNTERS, 0))
        for name in rollup.COUNTERS:
            mine[name] += row[name]
    return sorted(
        (*key, *(mine[name] for name in rollup.COUNTERS)) for key, mine in sums.items() if any(mine.values())
    )


def test_sums_per_brand_follow_every_move_and_equal_the_rollup_added_up(
    brands, catalogue, manager, employee, other_employee
):
    lead = intake.create_lead(lead_data(brands, catalogue, "A"), manager)
    lead = services.assign(lead, employee, manager)
    services.log_contact_attempt(lead, employee, "phone", "reached")
    lead = services.change_status(lead, "quoted", employee)
    lead = services.edit_lead(lead, manager, {"service": catalogue["storage"]})
    other = intake.create_lead(lead_data(brands, catalogue, "B"), manager)
    services.log_contact_attempt(other, other_employee, "email", "reached")
    before_move = brand_days()
    # A move to another brand takes the lead's earlier contributions with it.
    lead = services.edit_lead(lead, manager, {"brand": brands["intrapal"], "service": None})
    lead = services.change_status(lead, "won", other_employee)
    intake.create_leads([lead_data(brands, catalogue, "C"), lead_data(brands, catalogue, "D")], manager)

    kept = brand_days()
    assert kept == person_days_by_brand()
    assert {row[2] for row in kept} == {brands["intralog"].pk, brands["intrapal"].pk}
    assert {row[2] for row in before_move} == {brands["intralog"].pk}
    employee_rows = [row for row in kept if row[1] == employee.pk]
    assert [row[2] for row in employee_rows] == [brands["intrapal"].pk]  # all of lead A moved
    rollup.rebuild()
    assert brand_days() == kept


def test_team_page_reads_the_sums_per_brand_unless_a_filter_names_a_finer_dimension(
    brands, catalogue, admin_user, manager, employee, client_for
):
    from django.urls import reverse

    lead = intake.create_lead(lead_data(brands, catalogue, "A"), manager)
    services.assign(lead, employee, manager)
    client = client_for(admin_user)
    reads = {}
    for query in (
        "",
        f"?brand={brands['intralog'].pk}",
        f"?service={catalogue['pallets'].pk}",
        "?status=stage:open",
    ):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("dashboards:team") + query).status_code == 200
        reads[query] = {
            table
            for table in ("dashboards_personday", "dashboards_personbrandday")
            for captured in queries.captured_queries
            if f'FROM "{table}"' in captured["sql"]
        }
    assert reads == {
        "": {"dashboards_personbrandday"},
        f"?brand={brands['intralog'].pk}": {"dashboards_personbrandday"},
        f"?service={catalogue['pallets'].pk}": {"dashboards_personday"},
        "?status=stage:open": {"dashboards_personday"},
    }
