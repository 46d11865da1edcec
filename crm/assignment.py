"""Automatic assignment of new leads by ``AssignmentRule``: a fixed owner or a fair round-robin.

Round-robin keeps its place on the rule row (``last_assignee``), read and written under
``select_for_update`` inside the lead's creation transaction, so leads created at the same time
on PostgreSQL queue on that row and each takes the next person in turn.
"""

from django.db.models import F
from django.utils.translation import gettext as _

from .models import AssignmentRule, Role, User


def assignable_users(brand):
    """Active people who may own leads of ``brand``: its employees and managers."""
    return User.objects.filter(is_active=True, role__in=[Role.EMPLOYEE, Role.MANAGER], brands=brand).order_by(
        "pk"
    )


def round_robin_pool(rule):
    """Primary keys of the people a round-robin rule shares leads among, in a stable order."""
    people = rule.members.all() if rule.members.exists() else User.objects.filter(role=Role.EMPLOYEE)
    return list(
        people.filter(is_active=True, brands=rule.brand_id).order_by("pk").values_list("pk", flat=True)
    )


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
    pool = round_robin_pool(locked)
    if not pool:
        return None
    chosen = next_in_turn(pool, locked.last_assignee_id)
    AssignmentRule.objects.filter(pk=rule.pk).update(
        last_assignee_id=chosen, assigned_count=F("assigned_count") + 1
    )
    return User.objects.get(pk=chosen)


def matching_rules(lead):
    rules = AssignmentRule.objects.filter(is_enabled=True, brand_id=lead.brand_id).select_related("owner")
    return [rule for rule in rules if rule.matches(lead)]


def auto_assign(lead):
    """Give a new, unassigned lead to the first matching rule that has someone available.

    Returns the assignee or None. The assignment is an event with no actor and ``automatic=True``.
    """
    from .services import assign

    if lead.assignee_id is not None:
        return None
    for rule in matching_rules(lead):
        assignee = pick_assignee(rule)
        if assignee is None:
            continue
        assign(
            lead,
            assignee,
            None,
            _("Assigned by rule “%(rule)s”.") % {"rule": rule.name},
            automatic=True,
            data={"rule": rule.pk},
        )
        lead.refresh_from_db()
        return assignee
    return None
