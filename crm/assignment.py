"""Automatic assignment of new leads by ``AssignmentRule``: a fixed owner or a fair round-robin.

Round-robin keeps its place on the rule row (``last_assignee``), read and written under
``select_for_update`` inside the lead's creation transaction, so leads created at the same time
on PostgreSQL queue on that row and each takes the next person in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from . import system_notes
from .models import AssignmentRule, Brand, Lead, Role, User

Choice = tuple[AssignmentRule, User] | tuple[None, None]
"""The rule that gives a lead away and to whom, or ``(None, None)``."""


def assignable_users(brand: Brand | int | None) -> QuerySet[User]:
    """Active people who may own leads of ``brand``: its employees and managers."""
    return User.objects.filter(is_active=True, role__in=[Role.EMPLOYEE, Role.MANAGER], brands=brand).order_by(
        "pk"
    )


def round_robin_people(rule: AssignmentRule) -> list[User]:
    """The people a round-robin rule shares leads among, ordered by pk.

    Its active members of the rule's brand; every active employee of the brand when it has no members.
    """
    members = AssignmentRule.members.through.objects.filter(assignmentrule_id=rule.pk)
    in_pool = Exists(members.filter(user_id=OuterRef("pk"))) | (~Exists(members) & Q(role=Role.EMPLOYEE))
    return list(User.objects.filter(in_pool, is_active=True, brands=rule.brand_id).order_by("pk"))


def next_in_turn(pool: Sequence[int], last_pk: int | None) -> int:
    """The first pk after ``last_pk`` in ``pool`` (sorted), wrapping round to the start."""
    return next((pk for pk in pool if last_pk is None or pk > last_pk), pool[0])


def enabled_rules(brand_id: int) -> list[AssignmentRule]:
    return list(AssignmentRule.objects.filter(is_enabled=True, brand_id=brand_id).select_related("owner"))


def matching_rules(lead: Lead, rules: list[AssignmentRule] | None = None) -> list[AssignmentRule]:
    rules = enabled_rules(lead.brand_id) if rules is None else rules
    return [rule for rule in rules if rule.matches(lead)]


@dataclass
class _Turn:
    """Where a round-robin rule stands while a batch is assigned."""

    last: int | None
    people: dict[int, User]
    pool: list[int]
    count: int = 0


def choose_assignees(leads: Sequence[Lead], rules_for: Callable[[int], list[AssignmentRule]]) -> list[Choice]:
    """For each of ``leads`` in order, as if they were created one by one: the first matching rule that
    has someone available, and who.

    ``rules_for(brand_id)`` gives a brand's enabled rules. The round-robin rules that may be used are
    locked in one query (in rule order), their pools read once each, and each rule used is updated once:
    call it inside the transaction that assigns the leads. Returns one ``(rule, person)`` (or
    ``(None, None)``) per lead.
    """
    matches = [matching_rules(lead, rules_for(lead.brand_id)) for lead in leads]
    turns: dict[int, _Turn] = {}
    round_robin = {
        rule.pk for found in matches for rule in found if rule.mode == AssignmentRule.Mode.ROUND_ROBIN
    }
    if round_robin:
        locked = AssignmentRule.objects.select_for_update().filter(pk__in=round_robin)
        for rule in locked.order_by("brand_id", "order", "pk"):
            people = {person.pk: person for person in round_robin_people(rule)}
            turns[rule.pk] = _Turn(rule.last_assignee_id, people, sorted(people))
    chosen: list[Choice] = []
    for found in matches:
        choice: Choice = (None, None)
        for rule in found:
            if rule.mode == AssignmentRule.Mode.FIXED:
                owner = rule.owner
                if owner is not None and owner.is_active:
                    choice = (rule, owner)
                    break
                continue
            turn = turns[rule.pk]
            if not turn.pool:
                continue
            turn.last = next_in_turn(turn.pool, turn.last)
            turn.count += 1
            choice = (rule, turn.people[turn.last])
            break
        chosen.append(choice)
    for pk, turn in turns.items():
        if turn.count:
            AssignmentRule.objects.filter(pk=pk).update(
                last_assignee_id=turn.last, assigned_count=F("assigned_count") + turn.count
            )
    return chosen


def rule_note(rule: AssignmentRule) -> str:
    return system_notes.encode(system_notes.ASSIGNED_BY_RULE, rule=system_notes.named(rule))
