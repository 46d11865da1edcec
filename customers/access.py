"""Who sees which customer account: the row-level rules of leads, carried over to accounts.

Admins see every account. Managers see the accounts of their brands (an account's brand relationship) and
those linked to a lead of their brands. Employees see the accounts linked to a lead they may see (their
own). Marketing sees none. On an account's page each reader sees only the leads ``crm.access`` shows them.
"""

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from wagtail.permission_policies import ModelPermissionPolicy

from crm import access
from crm.models import Role

from .models import Account, AccountLead


def _is_active(user: Any) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def visibility(user: Any) -> Q | None:
    """What ``user`` may see, as a condition on accounts: ``Q()`` for everything, None for nothing."""
    if not _is_active(user) or user.role not in (Role.ADMIN, Role.MANAGER, Role.EMPLOYEE):
        return None
    if user.role == Role.ADMIN:
        return Q()
    visible_leads = access.leads_for(user).values("pk")
    condition = Q(Exists(AccountLead.objects.filter(account_id=OuterRef("pk"), lead_id__in=visible_leads)))
    if user.role == Role.MANAGER:
        held = Account.brands.through.objects.filter(
            account_id=OuterRef("pk"), brand_id__in=sorted(access.brand_ids(user))
        )
        condition |= Q(Exists(held))
    return condition


def accounts_for(user: Any, queryset: QuerySet[Account] | None = None) -> QuerySet[Account]:
    """The accounts ``user`` may see (see the module's description)."""
    queryset = Account.objects.all() if queryset is None else queryset
    condition = visibility(user)
    if condition is None:
        return queryset.none()
    return queryset.filter(condition) if condition else queryset


def can_see_account(user: Any, account: Account) -> bool:
    return account.pk is not None and accounts_for(user, Account.objects.filter(pk=account.pk)).exists()


class AccountPermissionPolicy(ModelPermissionPolicy):
    """The role groups' model permissions, narrowed to the accounts the person may see."""

    def instances_user_has_any_permission_for(self, user: Any, actions: list[str]) -> QuerySet[Account]:
        if not self.user_has_any_permission(user, actions):
            return Account.objects.none()
        return accounts_for(user)

    def instances_user_has_permission_for(self, user: Any, action: str) -> QuerySet[Account]:
        return self.instances_user_has_any_permission_for(user, [action])

    def user_has_permission_for_instance(self, user: Any, action: str, instance: Account) -> bool:
        return self.user_has_permission(user, action) and can_see_account(user, instance)

    def user_has_any_permission_for_instance(self, user: Any, actions: list[str], instance: Account) -> bool:
        return self.user_has_any_permission(user, actions) and can_see_account(user, instance)
