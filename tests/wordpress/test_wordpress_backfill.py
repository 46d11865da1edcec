"""A first import of old WordPress submissions is past demand, not today's: no alerts, no SLA, ages and
"new" counts from the submission; and duplicates follow submission order whatever order they arrive in."""

import datetime
import re
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts import services as alert_services
from alerts.models import Breach, Notification
from crm import services
from crm.models import AssignmentRule, Lead
from dashboards import metrics
from dashboards import team as team_metrics
from dashboards.filters import load_catalogue, read_filters
from dashboards.models import DashboardSettings
from tests.alerts_support import *  # noqa: F403 - fixtures
from tests.alerts_support import run_jobs
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from wordpress.fake import FakeWordPress
from wordpress.models import SyncRun
from wordpress.sync import sync_source

FRESH = {"Nombre y apellido": "Fresca Uno", "Email": "fresca.uno@example.com", "Mensaje": "Hola"}
FRESH_TOO = {"Nombre y apellido": "Fresca Dos", "Email": "fresca.dos@example.com", "Mensaje": "Hola"}


@pytest.fixture
def old_site():
    """200 submissions to form 3 from June 2025 (months before any test runs), two made minutes ago."""
    site = FakeWordPress(forms={"3": 200}, seed=11)
    now = datetime.datetime.now(UTC).replace(microsecond=0)
    site.add("3", fields=FRESH, created=now - timedelta(minutes=3))
    site.add("3", fields=FRESH_TOO, created=now - timedelta(minutes=2))
    site.start()
    yield site
    site.stop()


@pytest.fixture
def alert_rules(make_rule, brands, employee, other_employee):
    AssignmentRule.objects.create(name="Everyone", brand=brands["intralog"], mode="round_robin")
    make_rule("new", trigger="new_lead", notify_brand_managers=True)
    make_rule("assigned", trigger="assigned", notify_assignee=True)
    make_rule("not contacted", trigger="sla_not_contacted", threshold=2, notify_brand_managers=True)


def synced(site, make_source, django_capture_on_commit_callbacks):
    source = make_source(site, "collection", forms=(("3", "intralog"),), page_size=50)
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_source(source)
    run_jobs()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.created == 202
    return Lead.objects.filter(external_source=source.external_key)


def test_a_first_import_alerts_only_about_the_recent_submissions(
    old_site,
    alert_rules,
    make_source,
    fast_retries,
    alerts_env,
    manager,
    django_capture_on_commit_callbacks,
):
    leads = synced(old_site, make_source, django_capture_on_commit_callbacks)
    fresh = set(leads.filter(email__startswith="fresca.").values_list("pk", flat=True))
    assert len(fresh) == 2
    assert set(Notification.objects.values_list("lead_id", flat=True)) == fresh
    sent = alerts_env["smtp"].messages
    new_lead_mails = [message for message in sent if manager.email in message["to"]]
    assert len(new_lead_mails) == 2
    assert len(sent) == 4  # each fresh lead: the managers' new-lead email, the assignee's
    assert all("Fresca" in message["message"]["Subject"] for message in new_lead_mails)


def test_a_backfilled_lead_assigned_later_by_a_person_alerts_its_assignee(
    old_site,
    make_source,
    fast_retries,
    alerts_env,
    make_rule,
    manager,
    employee,
    django_capture_on_commit_callbacks,
):
    make_rule("assigned", trigger="assigned", notify_assignee=True)
    leads = synced(old_site, make_source, django_capture_on_commit_callbacks)
    old = leads.exclude(email__startswith="fresca.").first()
    assert old.is_backfill and not alerts_env["smtp"].messages
    with django_capture_on_commit_callbacks(execute=True):
        services.assign(old, employee, manager)
    run_jobs()
    assert [message["to"] for message in alerts_env["smtp"].messages] == [[employee.email]]


@pytest.mark.parametrize(("hours", "alerted"), [(23, True), (25, False)])
def test_the_backfill_threshold_is_a_setting(
    alerts_env, make_rule, manager, new_lead, settings, hours, alerted
):
    settings.LEAD_BACKFILL_HOURS = 24
    make_rule(trigger="new_lead", notify_brand_managers=True)
    lead = new_lead(submitted_at=timezone.now() - timedelta(hours=hours))
    assert lead.is_backfill is not alerted
    assert bool(alerts_env["smtp"].messages) is alerted


def test_a_first_import_is_not_todays_demand_and_breaches_no_sla(
    old_site,
    alert_rules,
    make_source,
    fast_retries,
    alerts_env,
    admin_user,
    manager,
    employee,
    django_capture_on_commit_callbacks,
):
    leads = synced(old_site, make_source, django_capture_on_commit_callbacks)
    catalogue = load_catalogue(admin_user)
    _form, flt = read_filters({"period": "last_30"}, catalogue)
    groups = metrics.StatusGroups.from_catalogue(catalogue)
    kpis, recent = metrics.overview_kpis(admin_user, flt, groups)
    assert recent["new_today"] == 2
    assert {kpi["key"]: kpi["value"] for kpi in kpis}["total"] == 2

    later = timezone.now() + timedelta(hours=5)
    with django_capture_on_commit_callbacks(execute=True):
        breaches = alert_services.check_breaches(now=later)
    run_jobs()
    fresh = set(leads.filter(email__startswith="fresca.").values_list("pk", flat=True))
    assert breaches == 2  # the two recent leads, one email each to the brand's manager
    assert set(Breach.objects.values_list("lead_id", flat=True)) == fresh

    settings_row = DashboardSettings.load()
    mine = leads.filter(assignee=employee)
    assert mine.exclude(pk__in=fresh).exists()
    panel = team_metrics.personal_figures(employee, settings_row, now=later)
    expected_overdue = mine.filter(pk__in=fresh).count()
    assert panel["figures"]["sla_due"] == expected_overdue
    assert {lead.pk for lead in panel["overdue"]} == set(
        mine.filter(pk__in=fresh).values_list("pk", flat=True)
    )
    _form, flt = read_filters({"period": "custom", "start": "2025-06-01", "end": "2025-06-30"}, catalogue)
    team = team_metrics.team_figures(admin_user, flt, groups, settings_row, now=later)
    assigned_old = leads.exclude(pk__in=fresh).filter(assignee__isnull=False).count()
    assert assigned_old > 100
    assert team["total"]["leads"] == assigned_old and team["total"]["sla_due"] == 0


def test_the_listing_orders_and_ages_leads_by_submission(
    old_site, make_source, fast_retries, admin_user, client_for, django_capture_on_commit_callbacks
):
    leads = synced(old_site, make_source, django_capture_on_commit_callbacks)
    content = client_for(admin_user).get(reverse("crm_leads:list")).content.decode()
    names = re.findall(r'id="snippet_\d+_title"[^>]*>\s*([^<]+?)\s*<', content)
    assert names[:2] == ["Fresca Dos", "Fresca Uno"], names[:5]
    oldest_shown = leads.exclude(email__startswith="fresca.").order_by("-submitted_at", "-pk").first()
    row = content[content.index(f"snippet_{oldest_shown.pk}_title") :]
    age = re.search(r'<span title="[^"]*">([^<]+)</span>', row).group(1)
    assert "year" in age, age
    assert "minute" not in age


def test_a_sync_links_duplicates_to_the_earliest_submission_whatever_form_brings_it_first(
    make_source, fast_retries, brands
):
    """Form 3 syncs before form 4, but form 4 holds Ana's first submission: it is the original."""
    site = FakeWordPress(forms={"3": 0, "4": 0})
    start = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    ana = {"Nombre y apellido": "Ana Pérez", "Email": "ana@acme.com"}
    later = site.add("3", fields={**ana, "Teléfono": "011 4555-1234"}, created=start + timedelta(days=3))
    repeat = site.add("3", fields={"Teléfono": "+54 11 4555 1234"}, created=start + timedelta(days=5))
    first = site.add("4", fields=ana, created=start)
    site.start()
    try:
        source = make_source(site, "collection", forms=(("3", "intralog"), ("4", "intralog")), page_size=1)
        run = sync_source(source)
    finally:
        site.stop()
    assert run.status == SyncRun.Status.SUCCEEDED and run.created == 3
    leads = {int(lead.external_id): lead for lead in Lead.objects.filter(external_source=source.external_key)}
    original = leads[first]
    assert original.duplicate_of_id is None
    assert leads[later].duplicate_of_id == original.pk and leads[repeat].duplicate_of_id == original.pk
    assert leads[later].events.filter(kind="classified", data__duplicate_of=original.pk).exists()
