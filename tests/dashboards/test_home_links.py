"""Every count on the admin homes links to the lead listing filtered to exactly the leads it counts:
followed signed in as that role, the listing shows those leads and as many. The manager's day panel
(unassigned, first contact past the SLA, overdue follow-ups, per person) covers only their brands."""

import datetime
import html as html_lib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import followups, services
from crm.access import brand_ids
from crm.models import FollowUp, Lead
from dashboards.models import DashboardSettings
from dashboards.team import team_day
from tests.crm.follow_up_support import lead_for, listed_ids, listing

pytestmark = pytest.mark.django_db

HOME = reverse("wagtailadmin_home")


def ago(**delta):
    return timezone.now() - datetime.timedelta(**delta)


def moved(lead, **times):
    Lead.objects.filter(pk=lead.pk).update(**times)
    return Lead.objects.get(pk=lead.pk)


def overdue_follow_up(lead, actor):
    """A follow-up that fell due an hour ago: planned, then moved back with the lead's next action."""
    follow_up = followups.schedule_follow_up(lead, actor, due_at=timezone.now() + datetime.timedelta(hours=1))
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=ago(hours=1))
    Lead.objects.filter(pk=lead.pk).update(next_action_at=followups.next_action_of(lead))
    return follow_up


@pytest.fixture
def team(brands, manager, employee, other_employee, intrapal_employee):
    intralog, intrapal = brands["intralog"], brands["intrapal"]
    leads = {}
    leads["fresh"] = moved(lead_for(intralog, employee, "Fresh"), assigned_at=ago(hours=1))
    leads["late"] = moved(lead_for(intralog, employee, "Late"), assigned_at=ago(hours=10))
    stale = lead_for(intralog, employee, "Stale")
    services.log_contact_attempt(stale, employee, "phone", "reached")
    leads["stale"] = moved(stale, last_activity_at=ago(days=10))
    won = lead_for(intralog, employee, "Won")
    services.log_contact_attempt(won, employee, "phone", "reached")
    leads["won"] = services.change_status(won, "won", manager)
    old = lead_for(intralog, employee, "Old")
    services.log_contact_attempt(old, employee, "phone", "reached")
    leads["old"] = moved(old, assigned_at=ago(days=40), first_contacted_at=ago(days=39))
    closed = moved(lead_for(intralog, employee, "Closed Uncontacted"), assigned_at=ago(hours=10))
    leads["closed"] = services.change_status(
        closed, "not_viable", manager, "Out of the area", lost_reason="coverage"
    )
    leads["task"] = lead_for(intralog, employee, "Overdue Task")
    overdue_follow_up(leads["task"], employee)

    leads["other late"] = moved(lead_for(intralog, other_employee, "Other Late"), assigned_at=ago(days=2))
    leads["other task"] = lead_for(intralog, other_employee, "Other Task")
    overdue_follow_up(leads["other task"], other_employee)
    leads["waiting"] = lead_for(intralog, None, "Waiting")
    junk = lead_for(intralog, None, "Unassigned Junk")
    leads["junk"] = services.change_status(junk, "negative", manager)

    pal = moved(lead_for(intrapal, intrapal_employee, "Pallet Late"), assigned_at=ago(hours=9))
    overdue_follow_up(pal, intrapal_employee)
    leads["pallet late"] = pal
    leads["pallet waiting"] = lead_for(intrapal, None, "Pallet Waiting")
    return leads


def home(client):
    response = client.get(HOME)
    assert response.status_code == 200
    return response.content.decode()


def section(page, heading_id):
    start = page.index(f'id="{heading_id}"')
    return page[start : page.index("</section>", start)]


def tile(panel, key):
    """``(count, link)`` of the KPI tile ``key``."""
    found = re.search(rf'data-kpi="{key}">.*?<a href="([^"]+)">([\d,]+)</a>', panel, re.S)
    return int(found.group(2).replace(",", "")), html_lib.unescape(found.group(1))


def ids_of(team, *names):
    return {team[name].pk for name in names}


def follow(client, url, count, expected):
    shown = set(listed_ids(listing(client, url)))
    assert shown == expected, url
    assert len(shown) == count, url


class TestManagersDay:
    def test_tiles_count_and_link_to_their_leads(self, team, client_for, manager):
        client = client_for(manager)
        panel = section(home(client), "dashboards-team-day-title")
        expected = {
            "unassigned": ids_of(team, "waiting"),
            "breached": ids_of(team, "late", "other late"),
            "overdue": ids_of(team, "task", "other task"),
        }
        for key, leads in expected.items():
            count, url = tile(panel, key)
            assert count == len(leads), key
            follow(client, url, count, leads)

    def test_per_person_counts_link_to_their_leads(self, team, client_for, manager, employee, other_employee):
        client = client_for(manager)
        panel = section(home(client), "dashboards-team-day-title")
        expected = {
            employee: {"breached": ids_of(team, "late"), "overdue": ids_of(team, "task")},
            other_employee: {"breached": ids_of(team, "other late"), "overdue": ids_of(team, "other task")},
        }
        rows = dict(re.findall(r'<tr data-person="(\w+)">(.*?)</tr>', panel, re.S))
        assert set(rows) == {str(employee.pk), str(other_employee.pk)}
        for person, columns in expected.items():
            row = rows[str(person.pk)]
            for column, leads in columns.items():
                found = re.search(rf'data-column="{column}"><a href="([^"]+)">(\d+)</a>', row)
                assert int(found.group(2)) == len(leads)
                follow(client, html_lib.unescape(found.group(1)), len(leads), leads)

    def test_a_manager_sees_only_their_brands(self, team, client_for, other_manager, intrapal_employee):
        client = client_for(other_manager)
        panel = section(home(client), "dashboards-team-day-title")
        for key, leads in {
            "unassigned": ids_of(team, "pallet waiting"),
            "breached": ids_of(team, "pallet late"),
            "overdue": ids_of(team, "pallet late"),
        }.items():
            count, url = tile(panel, key)
            assert count == len(leads), key
            follow(client, url, count, leads)
        assert re.findall(r'<tr data-person="(\w+)">', panel) == [str(intrapal_employee.pk)]
        assert "Late" not in panel.replace("Pallet Late", "")

    def test_the_day_is_counted_in_one_query(
        self, team, manager, other_manager, employee, other_employee, django_assert_num_queries
    ):
        settings = DashboardSettings.load()
        brand_ids(manager)  # read once per request by every panel
        with django_assert_num_queries(2):  # the open statuses, then the three counts in one
            day = team_day(manager, settings)
        assert (day["unassigned"], day["breached"], day["overdue"]) == (1, 2, 2)
        assert day["people"] == [
            {"person_id": pk, "breached": 1, "overdue": 1} for pk in sorted([employee.pk, other_employee.pk])
        ]
        Lead.objects.filter(pk=team["pallet waiting"].pk).update(assignee=team["pallet late"].assignee)
        Lead.objects.filter(pk=team["pallet late"].pk).update(assignee=None)
        day = team_day(other_manager, settings)
        assert (day["unassigned"], day["breached"], day["overdue"]) == (1, 1, 1)
        assert day["people"] == [{"person_id": None, "breached": 1, "overdue": 1}]

    def test_the_managers_home_does_not_grow_with_leads(self, team, brands, client_for, manager, employee):
        client = client_for(manager)
        home(client)

        def counted():
            with CaptureQueriesContext(connection) as captured:
                page = home(client)
            return len(captured.captured_queries), section(page, "crm-brand-leads-heading")

        before, _panel = counted()
        for index in range(6):
            overdue_follow_up(lead_for(brands["intralog"], employee, f"More {index}"), employee)
            lead_for(brands["intralog"], None, f"Nobody's {index}", company="Acme")
        after, panel = counted()
        assert after == before <= 20
        newest = Lead.objects.get(contact_name="Nobody's 5")
        row = re.search(rf'<tr>\s*<td><a href="/admin/leads/inspect/{newest.pk}/">(.*?)</tr>', panel, re.S)
        assert "Nobody&#x27;s 5</a> · Acme" in row.group(1)
        assert f"<td>{brands['intralog'].name}</td>" in row.group(1)
        assert 'class="w-status crm-status-badge"' in row.group(1) and 'data-status="pending">' in row.group(
            1
        )

    def test_the_brand_panel_links_to_the_unassigned_leads_it_lists(self, team, client_for, manager):
        client = client_for(manager)
        panel = section(home(client), "crm-brand-leads-heading")
        url = html_lib.unescape(re.search(r'href="([^"]+)">All unassigned leads', panel).group(1))
        follow(client, url, 1, ids_of(team, "waiting"))

    def test_employees_and_marketing_get_no_team_panel(self, team, client_for, employee, marketer):
        for user in (employee, marketer):
            assert 'id="dashboards-team-day-title"' not in home(client_for(user))


class TestSalespersonsHome:
    def test_open_and_overdue_link_to_their_leads(self, team, client_for, employee):
        client = client_for(employee)
        panel = section(home(client), "dashboards-personal-title")
        for key, leads in {
            "open": ids_of(team, "fresh", "late", "stale", "old", "task"),
            "overdue": ids_of(team, "late", "stale"),
        }.items():
            found = re.search(rf'<a href="([^"]+)" data-count="{key}">\s*([\d,]+)', panel)
            assert int(found.group(2)) == len(leads), key
            follow(client, html_lib.unescape(found.group(1)), len(leads), leads)

    def test_figure_tiles_link_to_the_leads_they_count(self, team, client_for, employee):
        client = client_for(employee)
        panel = section(home(client), "dashboards-personal-title")
        for key, leads in {
            "assigned": ids_of(team, "fresh", "late", "stale", "won", "closed", "task"),
            "contacted": ids_of(team, "stale", "won"),
            "won": ids_of(team, "won"),
        }.items():
            count, url = tile(panel, key)
            assert count == len(leads), key
            follow(client, url, count, leads)

    def test_status_rows_still_link_to_that_status(self, team, client_for, employee):
        client = client_for(employee)
        panel = section(home(client), "dashboards-personal-title")
        rows = re.findall(r'<tr><td><a href="([^"]+)">[^<]+</a></td><td data-column="leads">(\d+)<', panel)
        assert rows
        for url, count in rows:
            shown = listed_ids(listing(client, html_lib.unescape(url)))
            assert len(shown) == int(count)
