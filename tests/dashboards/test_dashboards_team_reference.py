"""The team table's lead figures equal a straightforward computation over the leads, in Python.

``team.team_figures`` reads them in one grouped query (and one more for the previous period) and the
assignments in weekly buckets; this recomputes each figure lead by lead from its definition, on the
dashboards' dataset plus leads that test the edges: the previous period, a lead submitted in the
previous period and assigned in this one, a backfilled lead, a lead contacted before its assignment.
"""

import datetime

import pytest
from django.utils import timezone

from crm import services
from crm.models import Lead
from dashboards import metrics
from dashboards import team as team_metrics
from dashboards.filters import load_catalogue, read_filters
from dashboards.models import DashboardSettings
from dashboards.sql import business_clock, percentile_of
from tests.dashboards.test_dashboards_dataset import at, build, local, new_lead

COMPARED = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31", "compare": "on"}
NOW = local(4, 1, 12)
HOUR = 3600


@pytest.fixture
def data(brands, manager, employee, other_employee):
    data = build(brands, manager, employee, other_employee)
    intralog = brands["intralog"]

    def assign(lead, when, person):
        return at(when, services.assign, lead, person, manager)

    def contact(lead, when, person):
        return at(when, services.log_contact_attempt, lead, person, "phone", "reached")

    lead = assign(new_lead(local(2, 12, 10), intralog, "P3"), local(2, 12, 10), employee)
    contact(lead, local(2, 12, 13), employee)
    lead = assign(new_lead(local(2, 14, 10), intralog, "P4"), local(2, 14, 10), other_employee)
    contact(lead, local(2, 16, 11), other_employee)
    lead = assign(new_lead(local(2, 16, 9), intralog, "P5"), local(2, 16, 9, 30), other_employee)
    contact(lead, local(2, 16, 9, 45), other_employee)
    # Submitted in the previous period, assigned (and so counted as assigned) in this one.
    assign(new_lead(local(2, 25, 10), intralog, "P6"), local(3, 3, 11), employee)
    # Backfilled: received three days after its submission; no SLA, still counted otherwise.
    lead = assign(new_lead(local(3, 13, 10), intralog, "B1"), local(3, 13, 10), other_employee)
    lead = contact(lead, local(3, 13, 10, 30), other_employee)
    Lead.objects.filter(pk=lead.pk).update(submitted_at=local(3, 10, 10))
    # Contacted before it was assigned: contacted, but no first-response time.
    lead = assign(new_lead(local(3, 18, 10), intralog, "C1"), local(3, 18, 11), employee)
    Lead.objects.filter(pk=lead.pk).update(first_contacted_at=local(3, 18, 10, 30))
    return data


def sla_seconds(settings, lead, until):
    if settings.sla_business_hours:
        zone = timezone.get_default_timezone()
        start, end = settings.business_day_start, settings.business_day_end
        return business_clock(until, start, end, zone) - business_clock(lead.assigned_at, start, end, zone)
    return (until - lead.assigned_at).total_seconds()


def lead_figures(leads, groups, settings):
    """The figures of the leads, each from its definition."""
    sla = settings.sla_hours * HOUR
    stale_before = NOW - datetime.timedelta(days=settings.stale_days)
    responses, counts = [], dict.fromkeys(["leads", "contacted", "sla_met", "sla_due", "open", "stale"], 0)
    for lead in leads:
        responded = lead.first_contacted_at is not None and lead.first_contacted_at >= lead.assigned_at
        if responded:
            responses.append((lead.first_contacted_at - lead.assigned_at).total_seconds())
        counts["leads"] += 1
        counts["contacted"] += lead.first_contacted_at is not None
        if not lead.is_backfill:
            counts["sla_met"] += responded and sla_seconds(settings, lead, lead.first_contacted_at) <= sla
            overdue = lead.first_contacted_at is None and sla_seconds(settings, lead, NOW) > sla
            counts["sla_due"] += responded or overdue
        is_open = lead.status_id in groups.open
        counts["open"] += is_open
        counts["stale"] += is_open and lead.last_activity_at < stale_before
    return {
        **counts,
        "median_response": percentile_of(responses, 0.5),
        "p90_response": percentile_of(responses, 0.9),
    }


def expected(flt, groups, settings):
    leads = list(Lead.objects.filter(assignee__isnull=False))

    def submitted_in(span):
        return [lead for lead in leads if span.start <= lead.submitted_at < span.end]

    def assigned_in(span):
        return [lead for lead in leads if span.start <= lead.assigned_at < span.end]

    current = submitted_in(flt.range)
    people = {}
    for assignee in {lead.assignee_id for lead in current}:
        people[assignee] = lead_figures(
            [lead for lead in current if lead.assignee_id == assignee], groups, settings
        )
    for lead in assigned_in(flt.range):
        person = people.setdefault(lead.assignee_id, {})
        person["assigned"] = person.get("assigned", 0) + 1
    weeks = {}
    for lead in assigned_in(flt.range):
        day = timezone.localdate(lead.assigned_at)
        monday = day - datetime.timedelta(days=day.weekday())
        weeks[monday] = weeks.get(monday, 0) + 1
    total = {**lead_figures(current, groups, settings), "assigned": len(assigned_in(flt.range))}
    previous = {
        **lead_figures(submitted_in(flt.previous), groups, settings),
        "assigned": len(assigned_in(flt.previous)),
    }
    return people, total, previous, weeks


FIGURES = ["leads", "contacted", "sla_met", "sla_due", "open", "stale", "median_response", "p90_response"]


@pytest.mark.parametrize(
    "sla",
    [
        {"sla_hours": 4},
        {"sla_hours": 48},  # a day or more: the SLA interval has days
        {"sla_hours": 3, "sla_business_hours": True, "business_day_start": 9, "business_day_end": 18},
    ],
)
def test_team_lead_figures_equal_a_lead_by_lead_computation(data, admin_user, sla):
    settings = DashboardSettings.load()
    for name, value in sla.items():
        setattr(settings, name, value)
    catalogue = load_catalogue(admin_user)
    _form, flt = read_filters(COMPARED, catalogue, today=datetime.date(2026, 4, 1))
    groups = metrics.StatusGroups.from_catalogue(catalogue)

    figures = team_metrics.team_figures(admin_user, flt, groups, settings, NOW)
    people, total, previous, weeks = expected(flt, groups, settings)

    rows = {row["person_id"]: row for row in figures["rows"]}
    for person, wanted in people.items():
        row = rows[person]
        assert row["assigned"] == wanted.get("assigned", 0)
        if "leads" in wanted:
            assert {name: row[name] for name in FIGURES} == pytest.approx(
                {name: wanted[name] for name in FIGURES}
            )
    for row in figures["rows"]:
        if row["person_id"] not in people:
            assert (row["leads"], row["assigned"], row["median_response"]) == (0, 0, None)
    for got, wanted in ((figures["total"], total), (figures["previous"], previous)):
        assert {name: got[name] for name in [*FIGURES, "assigned"]} == pytest.approx(
            {name: wanted[name] for name in [*FIGURES, "assigned"]}
        )
    assert {row["bucket"]: row["assigned"] for row in figures["trend"] if row["assigned"]} == weeks
    # The edges are there: both periods have leads and first-response times, and a backfilled lead.
    assert previous["leads"] and previous["median_response"] and total["sla_due"] < total["leads"]
