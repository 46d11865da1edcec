"""Automatic assignment: fixed owner, fair round-robin (also under concurrent creation on PostgreSQL)."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from crm import intake
from crm.assignment import next_in_turn
from crm.models import AssignmentRule, Lead, LeadEvent, Role, Service

pytestmark = pytest.mark.django_db


def new_lead(brand, **fields):
    return intake.create_lead(intake.LeadData(brand=brand, **fields))


@pytest.fixture
def team(make_user):
    return [make_user(f"seller{i}", Role.EMPLOYEE, ("intralog",)) for i in range(3)]


class TestFixedOwner:
    def test_assigns_owner_as_the_system(self, brands, employee):
        rule = AssignmentRule.objects.create(
            name="Form 3", brand=brands["intralog"], mode="fixed", owner=employee
        )
        lead = new_lead(brands["intralog"], email="a@example.com")
        assert lead.assignee == employee and lead.status.key == "assigned"
        event = lead.events.get(kind="assigned")
        assert event.actor is None
        assert event.data == {"from_id": None, "to_id": employee.pk, "automatic": True, "rule": rule.pk}
        assert "Form 3" in event.note
        assert lead.events.get(kind="status_changed").actor is None

    def test_form_and_service_conditions(self, brands, employee, other_employee):
        transport = Service.objects.get(name="Transporte")
        AssignmentRule.objects.create(
            name="Transport",
            order=1,
            brand=brands["intralog"],
            service=transport,
            mode="fixed",
            owner=employee,
        )
        AssignmentRule.objects.create(
            name="Form 4",
            order=2,
            brand=brands["intralog"],
            external_form="4",
            mode="fixed",
            owner=other_employee,
        )
        assert new_lead(brands["intralog"], service=transport, external_form="4").assignee == employee
        assert new_lead(brands["intralog"], external_form="4").assignee == other_employee
        assert new_lead(brands["intralog"], external_form="3").assignee is None
        assert new_lead(brands["intrapal"], external_form="4").assignee is None

    def test_inactive_owner_falls_through_to_next_rule(self, brands, employee, other_employee):
        AssignmentRule.objects.create(
            name="A", order=1, brand=brands["intralog"], mode="fixed", owner=employee
        )
        AssignmentRule.objects.create(
            name="B", order=2, brand=brands["intralog"], mode="fixed", owner=other_employee
        )
        employee.is_active = False
        employee.save()
        assert new_lead(brands["intralog"]).assignee == other_employee

    def test_disabled_rule_is_ignored(self, brands, employee):
        AssignmentRule.objects.create(
            name="Off", brand=brands["intralog"], mode="fixed", owner=employee, is_enabled=False
        )
        assert new_lead(brands["intralog"]).assignee is None

    def test_rule_validation(self, brands, intrapal_employee):
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            AssignmentRule(name="x", brand=brands["intralog"], mode="fixed").full_clean()
        with pytest.raises(ValidationError):
            AssignmentRule(
                name="x", brand=brands["intralog"], mode="fixed", owner=intrapal_employee
            ).full_clean()
        with pytest.raises(ValidationError):
            AssignmentRule(
                name="x", brand=brands["intralog"], service=Service.objects.get(name="Compra de pallets")
            ).full_clean()


class TestRoundRobin:
    def test_sequential_fairness(self, brands, team, manager, intrapal_employee):
        AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")
        leads = [new_lead(brands["intralog"], email=f"rr{i}@example.com") for i in range(9)]
        counts = Counter(lead.assignee_id for lead in leads)
        assert counts == {person.pk: 3 for person in team}
        assert [lead.assignee_id for lead in leads[:3]] == [person.pk for person in team]
        assert all(
            event.actor is None and event.data["automatic"]
            for event in LeadEvent.objects.filter(kind="assigned")
        )
        assert AssignmentRule.objects.get().assigned_count == 9

    def test_only_active_employees_of_the_brand(self, brands, team):
        team[1].is_active = False
        team[1].save()
        AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")
        leads = [new_lead(brands["intralog"]) for _ in range(4)]
        assert Counter(lead.assignee_id for lead in leads) == {team[0].pk: 2, team[2].pk: 2}

    def test_members_limit_the_pool(self, brands, team):
        rule = AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")
        rule.members.set([team[0], team[2]])
        leads = [new_lead(brands["intralog"]) for _ in range(4)]
        assert Counter(lead.assignee_id for lead in leads) == {team[0].pk: 2, team[2].pk: 2}

    def test_new_colleague_joins_the_turn(self, brands, team, make_user):
        AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")
        first = [new_lead(brands["intralog"]) for _ in range(2)]
        newcomer = make_user("seller9", Role.EMPLOYEE, ("intralog",))
        rest = [new_lead(brands["intralog"]) for _ in range(6)]
        counts = Counter(lead.assignee_id for lead in first + rest)
        assert counts[newcomer.pk] == 2
        assert max(counts.values()) - min(counts.values()) <= 0

    def test_nobody_available_leaves_the_lead_unassigned(self, brands):
        AssignmentRule.objects.create(name="RR", brand=brands["intrapal"], mode="round_robin")
        lead = new_lead(brands["intrapal"])
        assert lead.assignee is None and lead.status.key == "pending"

    def test_next_in_turn(self):
        assert next_in_turn([3, 5, 9], None) == 3
        assert next_in_turn([3, 5, 9], 5) == 9
        assert next_in_turn([3, 5, 9], 9) == 3
        assert next_in_turn([3, 5, 9], 4) == 5


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_round_robin_stays_fair_under_concurrent_creation(brands, team):
    AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")
    brand = brands["intralog"]
    per_thread, threads_count = 6, 6
    barrier = threading.Barrier(threads_count)
    errors = []

    def create_many(worker):
        try:
            barrier.wait()
            for i in range(per_thread):
                new_lead(brand, email=f"w{worker}-{i}@example.com")
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create_many, args=(worker,)) for worker in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    leads = Lead.objects.filter(brand=brand)
    assert leads.count() == per_thread * threads_count
    counts = Counter(leads.values_list("assignee_id", flat=True))
    assert counts == {person.pk: per_thread * threads_count // len(team) for person in team}
    assert AssignmentRule.objects.get().assigned_count == per_thread * threads_count
