"""Row-level access to leads: who may see and act on which lead. Enforced in every view."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .models import CLOSED_STAGES, Lead, Role


def leads_for(user, queryset=None):
    """The leads ``user`` may see: admins all, managers their brands, employees their own, marketing none."""
    queryset = Lead.objects.all() if queryset is None else queryset
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.role == Role.ADMIN:
        return queryset
    if user.role == Role.MANAGER:
        return queryset.filter(brand__in=user.brands.all())
    if user.role == Role.EMPLOYEE:
        return queryset.filter(assignee=user)
    return queryset.none()


def can_see_lead(user, lead):
    return leads_for(user).filter(pk=lead.pk).exists()


def check_status_change(actor, lead, status):
    """Employees only move a lead forward by stage order and cannot reopen a closed one."""
    if actor.role in (Role.ADMIN, Role.MANAGER):
        return
    current = lead.status
    if current.stage in CLOSED_STAGES:
        raise PermissionDenied(_("Only a manager can reopen a won, lost or junk lead."))
    if status.order < current.order and status.stage not in CLOSED_STAGES:
        raise PermissionDenied(_("You can only move a lead forward in the pipeline."))
