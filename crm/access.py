"""Row-level access to leads: who may see and act on which lead. Enforced in every view.

Scope: admins all leads, managers the leads of their brands, employees the leads assigned to them,
marketing none. Within scope, assigning, merging and exporting are for managers and admins only.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from .models import CLOSED_STAGES, Brand, FollowUp, Lead, LeadEvent, Role, Stage

ACTIONS = frozenset({"change_status", "assign", "note", "contact", "follow_up", "merge", "edit", "export"})
MANAGEMENT_ACTIONS = frozenset({"assign", "merge", "export"})
STAGE_RANK = {Stage.NEW: 0, Stage.OPEN: 1, Stage.WON: 2, Stage.LOST: 2, Stage.JUNK: 2}


def _is_active(user):
    return user is not None and user.is_authenticated and user.is_active


def _brand_scope(user):
    """``(ids of the user's brands, whether they are every brand)``, read in one query per user object."""
    cached = getattr(user, "_crm_brand_scope", None)
    if cached is None:
        held = Exists(Brand.people.through.objects.filter(user_id=user.pk, brand_id=OuterRef("pk")))
        rows = list(Brand.objects.annotate(held=held).values_list("pk", "held"))
        ids = frozenset(pk for pk, is_held in rows if is_held)
        cached = (ids, bool(ids) and len(ids) == len(rows))
        user._crm_brand_scope = cached
    return cached


def brand_ids(user):
    """Ids of the user's brands, cached on the user object (so read once per request)."""
    return _brand_scope(user)[0]


def _lead_rule(user):
    """What ``user`` may see, as a condition on leads: ``Q()`` for everything, None for nothing."""
    if not _is_active(user):
        return None
    if user.role == Role.ADMIN:
        return Q()
    if user.role == Role.MANAGER:
        ids, every_brand = _brand_scope(user)
        return Q() if every_brand else Q(brand_id__in=sorted(ids))
    if user.role == Role.EMPLOYEE:
        return Q(assignee=user)
    return None


def leads_for(user, queryset=None):
    """The leads ``user`` may see: admins all, managers their brands, employees their own, marketing none."""
    queryset = Lead.objects.all() if queryset is None else queryset
    rule = _lead_rule(user)
    if rule is None:
        return queryset.none()
    return queryset.filter(rule) if rule else queryset


def leads_counted_for(user, queryset=None):
    """The leads whose figures ``user`` may see in aggregate (campaign results): those of ``leads_for``,
    and for marketing the leads of their brands. Only for sums and counts, never to list a lead."""
    queryset = Lead.objects.all() if queryset is None else queryset
    if _is_active(user) and user.role == Role.MARKETING:
        ids, every_brand = _brand_scope(user)
        return queryset if every_brand else queryset.filter(brand_id__in=sorted(ids))
    return leads_for(user, queryset)


def events_for(user, queryset=None):
    """The events of the leads ``user`` may see: the rules of ``leads_for``, applied through the event's lead."""
    queryset = LeadEvent.objects.all() if queryset is None else queryset
    rule = _lead_rule(user)
    if rule is None:
        return queryset.none()
    return queryset.filter(on_related_lead(rule, "lead__")) if rule else queryset


def follow_ups_for(user, queryset=None):
    """The follow-ups of the leads ``user`` may see (the rules of ``leads_for``, through the lead)."""
    queryset = FollowUp.objects.all() if queryset is None else queryset
    rule = _lead_rule(user)
    if rule is None:
        return queryset.none()
    return queryset.filter(on_related_lead(rule, "lead__")) if rule else queryset


def on_related_lead(condition, prefix):
    """A condition on leads, rewritten for a model that reaches the lead via ``prefix``.

    ``on_related_lead(Q(brand_id=1), "lead__")`` is ``Q(lead__brand_id=1)``; nested, negated and OR'd
    conditions keep their shape.
    """
    clone = Q()
    clone.connector, clone.negated = condition.connector, condition.negated
    for child in condition.children:
        clone.children.append(
            on_related_lead(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1])
        )
    return clone


def _in_scope(user, lead):
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.MANAGER:
        return lead.brand_id in brand_ids(user)
    if user.role == Role.EMPLOYEE:
        return lead.assignee_id == user.pk
    return False


def holds_open_leads(user):
    """Whether ``user`` is the assignee of any new or open lead (read once per user object)."""
    if not _is_active(user):
        return False
    cached = getattr(user, "_crm_holds_open_leads", None)
    if cached is None:
        open_leads = Lead.objects.filter(assignee=user, status__stage__in=[Stage.NEW, Stage.OPEN])
        cached = user._crm_holds_open_leads = open_leads.exists()
    return cached


def can_see_lead(user, lead):
    return _is_active(user) and _in_scope(user, lead)


def role_may(user, action):
    """Whether ``user``'s role may do ``action`` on leads at all (scope aside)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown lead action: {action}")
    if not _is_active(user):
        return False
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    if user.role == Role.EMPLOYEE:
        return action not in MANAGEMENT_ACTIONS
    return False


def can_act_on_lead(user, lead, action):
    """Whether ``user`` may do ``action`` (one of ``ACTIONS``) on ``lead``."""
    return role_may(user, action) and _in_scope(user, lead)


def is_forward(current, status):
    """Whether moving from ``current`` to ``status`` goes forward: by stage, then by order."""
    return (STAGE_RANK[status.stage], status.order) > (STAGE_RANK[current.stage], current.order)


def check_status_change(actor, lead, status):
    """Raise ``PermissionDenied`` unless ``actor`` may move ``lead`` to ``status``.

    Managers and admins may make any move. Employees only move a lead forward (by stage, then by
    status order) and cannot reopen a won, lost or junk lead. Marketing cannot change statuses.
    """
    check_status_move(actor, lead.status, status)


def check_status_move(actor, current, status):
    """The pipeline rule of ``check_status_change`` for a lead now at ``current``."""
    if actor.role in (Role.ADMIN, Role.MANAGER):
        return
    if actor.role != Role.EMPLOYEE:
        raise PermissionDenied(_("You may not change the status of leads."))
    if current.stage in CLOSED_STAGES:
        raise PermissionDenied(_("Only a manager can reopen a won, lost or junk lead."))
    if not is_forward(current, status):
        raise PermissionDenied(_("You can only move a lead forward in the pipeline."))


def may_move_status(actor, current, status):
    try:
        check_status_move(actor, current, status)
    except PermissionDenied:
        return False
    return True


def statuses_offered(actor, leads, statuses):
    """The ``statuses`` ``actor`` may move every one of ``leads`` to, by the rule ``change_status`` enforces.

    A lead's own status is never offered; what is offered is exactly what ``bulk_change_status`` accepts.
    """
    current = {lead.status_id: lead.status for lead in leads}
    if not current:
        return []
    return [
        status
        for status in statuses
        if status.pk not in current and all(may_move_status(actor, now, status) for now in current.values())
    ]
