""" "My day" on the admin home: a person's overdue follow-ups and those due today and tomorrow by local
day (Buenos Aires, around midnight), their new leads nobody has contacted, only what they may see, a
one-click "done" that works and cannot be forged, "See all" links that list the same leads, and a
number of queries that does not grow with the tasks."""

import html as html_lib
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import agenda, followups, services
from crm.models import FollowUp, Lead, LeadEvent
from tests.crm.follow_up_support import lead_for, listed_ids, listing, local, plan
from tests.two_factor_support import sign_in_fully

pytestmark = pytest.mark.django_db

HOME = reverse("wagtailadmin_home")
BUCKETS = ["overdue", "today", "tomorrow", "waiting"]


def home(client):
    response = client.get(HOME)
    assert response.status_code == 200
    return response.content.decode()


def my_day(page):
    start = page.index('id="crm-my-day-heading"')
    return page[start : page.index("</section>", start)]


def bucket(page, key):
    """The part of My day that lists bucket ``key``."""
    panel = my_day(page)
    start = panel.index(f'data-bucket="{key}"')
    following = [panel.find(f'data-bucket="{other}"', start + 1) for other in BUCKETS]
    end = min([index for index in following if index > start] or [len(panel)])
    return panel[start:end]


def task_ids(page, key):
    return [int(pk) for pk in re.findall(r'data-follow-up="(\d+)"', bucket(page, key))]


def see_all(page, key):
    links = re.findall(r'href="([^"]+)">\s*See all', bucket(page, key))
    return html_lib.unescape(links[0]) if links else None


@pytest.fixture
def day(clock, brands, employee, other_employee, manager):
    """Follow-ups planned on Monday 9 March at 08:00 for Tuesday 10 and Wednesday 11, near midnight."""
    intralog = brands["intralog"]
    leads = {
        name: lead_for(intralog, employee, name)
        for name in (
            "Overdue Yesterday",
            "Overdue Tonight",
            "Today Late",
            "Tomorrow Early",
            "Tomorrow Late",
            "Day After",
            "No Task",
        )
    }
    leads["Someone Else"] = lead_for(intralog, other_employee, "Someone Else")
    due = {
        "Overdue Yesterday": local(9, 10),
        "Overdue Tonight": local(10, 23, 40),
        "Today Late": local(10, 23, 55),
        "Tomorrow Early": local(11, 0, 5),
        "Tomorrow Late": local(11, 23, 59),
        "Day After": local(12, 0, 0),
    }
    tasks = {name: plan(leads[name], employee, when, note=f"Task {name}") for name, when in due.items()}
    tasks["Someone Else"] = plan(leads["Someone Else"], other_employee, local(10, 23, 55))
    # Kept from before a follow-up's assignee had to be able to open its lead (the service refuses these
    # now): on the employee's lead for a colleague, and for the employee on a lead the employee does not
    # hold. Neither is the employee's to do.
    tasks["colleague's on mine"] = legacy_task(leads["Today Late"], manager, local(11, 9), other_employee)
    tasks["mine on a colleague's"] = legacy_task(leads["Someone Else"], manager, local(10, 23, 56), employee)
    clock.set(local(10, 23, 50))
    return {"leads": leads, "tasks": tasks}


def legacy_task(lead, planner, due_at, assignee):
    task = FollowUp.objects.create(lead=lead, due_at=due_at, assignee=assignee, created_by=planner)
    Lead.objects.filter(pk=lead.pk, next_action_at__gt=due_at).update(next_action_at=due_at)
    Lead.objects.filter(pk=lead.pk, next_action_at=None).update(next_action_at=due_at)
    return task


def ids(day, *names):
    return [day["tasks"][name].pk for name in names]


class TestBuckets:
    def test_local_days_around_midnight(self, day, employee):
        found = agenda.my_tasks(employee, agenda.Days.at())
        assert {key: [task.pk for task in found[key].rows] for key in agenda.TASK_BUCKETS} == {
            "overdue": ids(day, "Overdue Yesterday", "Overdue Tonight"),
            "today": ids(day, "Today Late"),
            "tomorrow": ids(day, "Tomorrow Early", "Tomorrow Late"),
        }
        assert [found[key].total for key in agenda.TASK_BUCKETS] == [2, 1, 2]

    def test_the_home_lists_each_bucket(self, day, client_for, employee):
        page = home(client_for(employee))
        assert task_ids(page, "overdue") == ids(day, "Overdue Yesterday", "Overdue Tonight")
        assert task_ids(page, "today") == ids(day, "Today Late")
        assert task_ids(page, "tomorrow") == ids(day, "Tomorrow Early", "Tomorrow Late")
        overdue = bucket(page, "overdue")
        lead = day["leads"]["Overdue Tonight"]
        assert f'href="{reverse("crm_leads:inspect", args=[lead.pk])}"' in overdue
        assert "Task Overdue Tonight" in overdue and "03/10/2026 11:40 p.m." in overdue
        assert "11:55 p.m." in bucket(page, "today") and "12:05 a.m." in bucket(page, "tomorrow")

    def test_after_midnight_the_days_move_on(self, day, clock, client_for, employee):
        clock.set(local(11, 0, 1))
        page = home(client_for(employee))
        assert task_ids(page, "overdue") == ids(day, "Overdue Yesterday", "Overdue Tonight", "Today Late")
        assert task_ids(page, "today") == ids(day, "Tomorrow Early", "Tomorrow Late")
        assert task_ids(page, "tomorrow") == ids(day, "Day After")

    def test_waiting_leads_are_new_or_open_and_never_contacted(
        self, clock, brands, client_for, employee, other_employee, manager
    ):
        intralog = brands["intralog"]
        waiting = lead_for(intralog, employee, "Waiting")
        contacted = lead_for(intralog, employee, "Contacted")
        services.log_contact_attempt(contacted, employee, "phone", "no_answer")
        closed = lead_for(intralog, employee, "Closed")
        services.change_status(closed, "not_viable", manager, "Out of the area", lost_reason="coverage")
        lead_for(intralog, other_employee, "Not Mine")
        lead_for(intralog, None, "Nobody's")
        page = home(client_for(employee))
        shown = re.findall(r'data-lead="(\d+)"', bucket(page, "waiting"))
        assert shown == [str(waiting.pk)]


class TestRowLevel:
    def test_an_employee_sees_only_their_own_tasks_and_leads(self, day, client_for, employee, other_employee):
        page = my_day(home(client_for(employee)))
        for name in ("Someone Else", "colleague's on mine", "mine on a colleague's"):
            assert f'data-follow-up="{day["tasks"][name].pk}"' not in page, name
        assert "Someone Else" not in page
        other = home(client_for(other_employee))
        assert task_ids(other, "today") == ids(day, "Someone Else")
        assert "Overdue Tonight" not in my_day(other) and "Today Late" not in my_day(other)

    def test_managers_without_leads_and_marketing_get_no_my_day(self, day, client_for, manager, marketer):
        for user in (manager, marketer):
            assert 'id="crm-my-day-heading"' not in home(client_for(user))

    def test_a_manager_holding_leads_sees_their_own_tasks_only(
        self, clock, brands, client_for, manager, employee
    ):
        mine = lead_for(brands["intralog"], manager, "Manager's Own")
        task = plan(mine, manager, local(9, 18))
        theirs = plan(lead_for(brands["intralog"], employee, "Employee's"), manager, local(9, 19))
        page = home(client_for(manager))
        assert task_ids(page, "today") == [task.pk]
        assert f'data-follow-up="{theirs.pk}"' not in my_day(page)


class TestDone:
    def test_one_click_done_from_my_day(self, day, employee):
        client = Client(enforce_csrf_checks=True)
        sign_in_fully(client, employee)
        page = home(client)
        task = day["tasks"]["Today Late"]
        form = re.search(
            rf'<li class="crm-my-day__row" data-follow-up="{task.pk}">.*?<form[^>]*action="([^"]+)">\s*'
            r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)">',
            my_day(page),
            re.S,
        )
        action, token = html_lib.unescape(form.group(1)), form.group(2)
        assert action == f"{reverse('crm_leads:follow_up_done', args=[task.pk])}?next=%2Fadmin%2F"
        response = client.post(action, {"csrfmiddlewaretoken": token})
        assert response.status_code == 302 and response["Location"] == HOME
        task.refresh_from_db()
        assert task.state == FollowUp.State.DONE and task.closed_by == employee
        assert LeadEvent.objects.filter(lead=task.lead, kind="follow_up", to_value="done").count() == 1
        page = home(client)
        assert task_ids(page, "today") == []
        assert "Follow-up done." in page

    def test_a_forged_done_on_someone_elses_follow_up_is_404(self, day, client_for, employee):
        client = client_for(employee)
        # Another's lead; and a task for the employee on a lead they do not hold: neither is reachable.
        for name in ("Someone Else", "mine on a colleague's"):
            task = day["tasks"][name]
            url = f"{reverse('crm_leads:follow_up_done', args=[task.pk])}?next=/admin/"
            assert client.post(url, {}).status_code == 404
            task.refresh_from_db()
            assert task.state == FollowUp.State.OPEN and task.closed_at is None
        assert not LeadEvent.objects.filter(kind="follow_up", to_value="done").exists()

    def test_done_twice_is_a_clear_error(self, day, client_for, employee):
        client = client_for(employee)
        task = day["tasks"]["Today Late"]
        url = f"{reverse('crm_leads:follow_up_done', args=[task.pk])}?next=/admin/"
        assert client.post(url, {}).status_code == 302
        response = client.post(url, {})
        assert response.status_code == 200 and "already done or cancelled" in response.content.decode()


class TestSeeAll:
    def test_see_all_lists_the_same_leads(self, clock, brands, client_for, employee, other_employee):
        intralog = brands["intralog"]
        expected = {"overdue": set(), "today": set(), "tomorrow": set(), "waiting": set()}
        for index in range(12):
            for key, when in (
                ("overdue", local(10, 9)),
                ("today", local(10, 23)),
                ("tomorrow", local(11, 9)),
            ):
                lead = lead_for(intralog, employee, f"{key} {index}")
                services.log_contact_attempt(lead, employee, "phone", "no_answer")
                plan(lead, employee, when)
                expected[key].add(lead.pk)
            expected["waiting"].add(lead_for(intralog, employee, f"waiting {index}").pk)
        plan(lead_for(intralog, other_employee, "Other's overdue"), other_employee, local(10, 9))
        clock.set(local(10, 22))
        client = client_for(employee)
        page = home(client)
        for key, leads in expected.items():
            assert len(re.findall(r'data-(?:follow-up|lead)="', bucket(page, key))) == agenda.LIMIT, key
            assert re.search(r"data-total>12<", bucket(page, key)), key
            url = see_all(page, key)
            assert url is not None, key
            assert set(listed_ids(listing(client, url))) == leads, key


class TestQueries:
    def home_queries(self, client):
        with CaptureQueriesContext(connection) as captured:
            home(client)
        return len(captured.captured_queries)

    def test_the_employee_home_does_not_grow_with_tasks(
        self, clock, brands, client_for, employee, django_assert_max_num_queries
    ):
        intralog = brands["intralog"]

        def add_tasks(count, start):
            for index in range(start, start + count):
                lead = lead_for(intralog, employee, f"Lead {index}")
                plan(lead, employee, local(9 + index % 3, 9 + index % 12), note="x" * 200)
                plan(lead, employee, local(11, 20))

        add_tasks(3, 0)
        clock.set(local(10, 12))
        client = client_for(employee)
        home(client)  # the first visit may create per-user rows (settings, profile)
        with django_assert_max_num_queries(22) as captured:
            home(client)
        with_three = len(captured.captured_queries)
        clock.set(local(9, 8))
        add_tasks(27, 3)
        clock.set(local(10, 12))
        with django_assert_max_num_queries(with_three):
            page = home(client)
        assert len(task_ids(page, "overdue")) == agenda.LIMIT


def test_done_from_my_day_keeps_the_next_action(day, client_for, employee):
    """Completing the earliest follow-up moves the lead's next action to the next one."""
    lead = day["leads"]["Today Late"]
    followups.complete_follow_up(day["tasks"]["Today Late"], employee)
    lead.refresh_from_db()
    assert lead.next_action_at == day["tasks"]["colleague's on mine"].due_at
