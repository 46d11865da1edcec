"""The lead page's SLA and stale badges come from the dashboards' settings and rules, through the registry
``crm.lead_flags`` (crm imports no feature app), and agree with the SQL conditions the dashboards count."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import intake, lead_flags, services
from crm.models import Lead
from dashboards import lead_flags as dashboard_flags
from dashboards.metrics import overdue_condition
from dashboards.models import DashboardSettings
from tests.page_text import visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_lead(brands, employee):
    def make(name, assigned_hours_ago=None, contacted=False, idle_days=0):
        lead = intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name=name))
        now = timezone.now()
        if assigned_hours_ago is not None:
            services.assign(lead, employee)
            Lead.objects.filter(pk=lead.pk).update(
                assigned_at=now - datetime.timedelta(hours=assigned_hours_ago),
                submitted_at=now - datetime.timedelta(hours=assigned_hours_ago + 1),
                received_at=now - datetime.timedelta(hours=assigned_hours_ago + 1),
            )
        if contacted:
            services.log_contact_attempt(lead, employee, "phone", "reached")
        Lead.objects.filter(pk=lead.pk).update(last_activity_at=now - datetime.timedelta(days=idle_days))
        return Lead.objects.select_related("status").get(pk=lead.pk)

    return make


def badges(client, lead):
    html = client.get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    header = html.split('class="crm-lead-header__badges"', 1)[1].split("</div>", 1)[0]
    return visible_text(header)


def test_the_page_shows_overdue_due_and_stale(make_lead, employee, client_for):
    client = client_for(employee)
    assert "First contact overdue" in badges(client, make_lead("Vencido", assigned_hours_ago=5))
    due = badges(client, make_lead("A tiempo", assigned_hours_ago=1))
    assert "First contact due by" in due and "overdue" not in due
    contacted = badges(client, make_lead("Contactado", assigned_hours_ago=5, contacted=True))
    assert "First contact" not in contacted
    assert "No activity for 7 days" in badges(client, make_lead("Quieto", assigned_hours_ago=5, idle_days=8))
    assert "No activity" not in badges(client, make_lead("Activo", assigned_hours_ago=5, idle_days=1))


def test_settings_change_the_badges(make_lead, employee, client_for):
    settings = DashboardSettings.load()
    settings.sla_hours = 8
    settings.save()
    assert "First contact due by" in badges(client_for(employee), make_lead("Ocho", assigned_hours_ago=5))


@pytest.mark.parametrize("business_hours", [False, True])
def test_python_rule_agrees_with_the_dashboards_sql(make_lead, business_hours):
    settings = DashboardSettings.load()
    settings.sla_business_hours = business_hours
    settings.save()
    leads = [
        make_lead(f"L{hours}", assigned_hours_ago=hours, contacted=contacted)
        for hours in (0.5, 3, 5, 30, 80, 200)
        for contacted in (False, True)
    ]
    now = timezone.now()
    settings = DashboardSettings.current()
    in_sql = set(Lead.objects.filter(overdue_condition(settings, now)).values_list("pk", flat=True))
    in_python = {lead.pk for lead in leads if dashboard_flags.is_overdue(lead, settings, now)}
    assert in_python == in_sql
    assert in_sql  # some of them are overdue either way


def test_business_deadline_skips_nights_and_weekends():
    zone = datetime.timezone(datetime.timedelta(hours=-3))
    friday_five_pm = datetime.datetime(2026, 3, 6, 17, 0, tzinfo=zone)
    deadline = dashboard_flags.business_deadline(friday_five_pm, 4 * 3600, 9, 18, zone)
    assert deadline == datetime.datetime(2026, 3, 9, 12, 0, tzinfo=zone)  # Monday noon


def test_a_failing_flag_rule_never_takes_the_page_down(make_lead, employee, client_for):
    def broken(lead, now):
        raise RuntimeError("boom")

    lead_flags.register("broken", broken)
    try:
        lead = make_lead("Con Regla Rota", assigned_hours_ago=5)
        assert "First contact overdue" in badges(client_for(employee), lead)
    finally:
        lead_flags.unregister("broken")
