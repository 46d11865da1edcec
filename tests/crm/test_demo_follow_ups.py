"""Demo follow-ups: after ``seed_demo`` each demo salesperson's My day has overdue tasks and tasks due
today, tomorrow and later; the rows agree with what ``crm.followups`` writes; seeding again adds none."""

import datetime

import pytest
from django.db.models import Min

from crm import agenda
from crm.demo.followups import PLAN, seed_demo_follow_ups
from crm.demo.leads import DEMO_EMPLOYEES, seed_demo_leads
from crm.models import FollowUp, Lead, LeadEvent, User

pytestmark = pytest.mark.django_db


def test_every_demo_salesperson_gets_a_day_of_tasks(clock):
    seed_demo_leads(300, now=clock.now)
    planned = seed_demo_follow_ups()
    people = User.objects.filter(username__in=[name for names in DEMO_EMPLOYEES.values() for name in names])
    assert people.count() == 5
    assert planned == len(PLAN) * people.count()
    days = agenda.Days.at()
    for person in people:
        tasks = agenda.my_tasks(person, days)
        assert [tasks[key].total for key in agenda.TASK_BUCKETS] == [2, 1, 1], person.username
        later = FollowUp.objects.filter(assignee=person, due_at__gte=days.day_after)
        assert later.count() == 1, person.username

    assert seed_demo_follow_ups() == 0
    assert FollowUp.objects.count() == planned


def test_demo_rows_agree_with_the_service(clock):
    seed_demo_leads(120, now=clock.now)
    seed_demo_follow_ups()
    follow_ups = FollowUp.objects.select_related("lead")
    assert follow_ups.exists()
    for follow_up in follow_ups:
        lead = follow_up.lead
        assert follow_up.assignee_id == lead.assignee_id
        assert follow_up.created_at <= follow_up.due_at or follow_up.due_at >= clock.now
        event = LeadEvent.objects.get(kind=LeadEvent.Kind.FOLLOW_UP, data__follow_up=follow_up.pk)
        assert event.to_value == "scheduled" and event.actor_id == follow_up.assignee_id
        assert datetime.datetime.fromisoformat(event.data["due_at"]) == follow_up.due_at
    for lead in Lead.objects.filter(follow_ups__isnull=False).distinct():
        first = lead.follow_ups.filter(state="open").aggregate(first=Min("due_at"))["first"]
        assert lead.next_action_at == first
