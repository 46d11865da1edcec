"""Automatic assignment of new leads by ``AssignmentRule``: a fixed owner or a fair round-robin.

Round-robin keeps its place on the rule row (``last_assignee``), read and written under
``select_for_update`` inside the lead's creation transaction, so leads created at the same time
on PostgreSQL queue on that row and each takes the next person in turn.
"""

from django.db.models import Exists, F, OuterRef, Q

from . import system_notes
from .models import AssignmentRule, Role, User


def assignable_users(brand):
    """Active people who may own leads of ``brand``: its employees and managers."""
    return User.objects.filter(is_active=True, role__in=[Role.EMPLOYEE, Role.MANAGER], brands=brand).order_by(
        "pk"
    )


def round_robin_people(rule):
    """The people a round-robin rule shares leads among, ordered by pk.

    Its active members of the rule's brand; every active employee of the brand when it has no members.
    """
    members = AssignmentRule.members.through.objects.filter(assignmentrule_id=rule.pk)
    in_pool = Exists(members.filter(user_id=OuterRef("pk"))) | (~Exists(members) & Q(role=Role.EMPLOYEE))
    return list(User.objects.filter(in_pool, is_active=True, brands=rule.brand_id).order_by("pk"))


def round_robin_pool(rule):
    """Primary keys of the people a round-robin rule shares leads among, in a stable order."""
    return [person.pk for person in round_robin_people(rule)]


def next_in_turn(pool, last_pk):
    """The first pk after ``last_pk`` in ``pool`` (sorted), wrapping round to the start."""
    return next((pk for pk in pool if last_pk is None or pk > last_pk), pool[0])


def pick_assignee(rule):
    """The person ``rule`` gives its next lead to, or None when nobody is available.

    Must run inside a transaction: round-robin locks the rule row until it commits.
    """
    if rule.mode == AssignmentRule.Mode.FIXED:
        owner = rule.owner
        return owner if owner is not None and owner.is_active else None
    locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    people = {person.pk: person for person in round_robin_people(locked)}
    if not people:
        return None
    chosen = next_in_turn(list(people), locked.last_assignee_id)
    AssignmentRule.objects.filter(pk=rule.pk).update(
        last_assignee_id=chosen, assigned_count=F("assigned_count") + 1
    )
    return people[chosen]


def enabled_rules(brand_id):
    return list(AssignmentRule.objects.filter(is_enabled=True, brand_id=brand_id).select_related("owner"))


def matching_rules(lead, rules=None):
    rules = enabled_rules(lead.brand_id) if rules is None else rules
    return [rule for rule in rules if rule.matches(lead)]


def auto_assign(lead):
    """Give a new, unassigned lead to the first matching rule that has someone available.

    Returns the assignee or None. The assignment is an event with no actor and ``automatic=True``.
    """
    from .services import assign

    if lead.assignee_id is not None:
        return None
    rule, assignee = choose_assignee(lead)
    if assignee is None:
        return None
    assign(lead, assignee, None, rule_note(rule), automatic=True, data={"rule": rule.pk})
    lead.refresh_from_db()
    return assignee


def choose_assignee(lead, rules=None):
    """``(rule, person)``: the first matching rule that has someone available and who; ``(None, None)``.

    ``rules``: the brand's enabled rules when already read. Takes the round-robin turn: call it inside
    the transaction that assigns the lead.
    """
    for rule in matching_rules(lead, rules):
        assignee = pick_assignee(rule)
        if assignee is not None:
            return rule, assignee
    return None, None


def choose_assignees(leads, rules_for):
    """``choose_assignee`` for each of ``leads`` in order, as if they were created one by one.

    ``rules_for(brand_id)`` gives a brand's enabled rules. The round-robin rules that may be used are
    locked in one query (in rule order), their pools read once each, and each rule used is updated once.
    Returns one ``(rule, person)`` (or ``(None, None)``) per lead.
    """
    matches = [matching_rules(lead, rules_for(lead.brand_id)) for lead in leads]
    turns = {}
    round_robin = {
        rule.pk for found in matches for rule in found if rule.mode == AssignmentRule.Mode.ROUND_ROBIN
    }
    if round_robin:
        locked = AssignmentRule.objects.select_for_update().filter(pk__in=round_robin)
        for rule in locked.order_by("brand_id", "order", "pk"):
            people = {person.pk: person for person in round_robin_people(rule)}
            turns[rule.pk] = [rule.last_assignee_id, people, sorted(people), 0]
    chosen = []
    for found in matches:
        choice = (None, None)
        for rule in found:
            if rule.mode == AssignmentRule.Mode.FIXED:
                owner = rule.owner
                if owner is not None and owner.is_active:
                    choice = (rule, owner)
                    break
                continue
            turn = turns[rule.pk]
            if not turn[2]:
                continue
            turn[0] = next_in_turn(turn[2], turn[0])
            turn[3] += 1
            choice = (rule, turn[1][turn[0]])
            break
        chosen.append(choice)
    for pk, (last, _people, _pool, count) in turns.items():
        if count:
            AssignmentRule.objects.filter(pk=pk).update(
                last_assignee_id=last, assigned_count=F("assigned_count") + count
            )
    return chosen


def rule_note(rule):
    return system_notes.encode(system_notes.ASSIGNED_BY_RULE, rule=system_notes.named(rule))
