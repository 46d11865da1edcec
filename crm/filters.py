"""The lead listing's own filters and what they offer: brands, people and their labels.

``crm.lead_fields`` says which field is filtered by which; ``crm.views.listing`` narrows the choices to
what the requesting user may see.
"""

import datetime
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from . import access, agenda
from .models import Brand, Lead, Role, Stage, TaggedLead, User
from .tags import tag_label

ASSIGNEE_MINE = "mine"
ASSIGNEE_UNASSIGNED = "unassigned"
STAGE_ACTIVE = "active"
CONTACTED_YES, CONTACTED_NO = "yes", "no"


def brands_for(user: User) -> QuerySet[Brand]:
    """Brands whose leads the user may work with."""
    if user.role == Role.ADMIN:
        return Brand.objects.all()
    return Brand.objects.filter(pk__in=sorted(access.brand_ids(user)))


def assignable_users(brands: QuerySet[Brand]) -> QuerySet[User]:
    """Active people who may hold leads of ``brands``."""
    return (
        User.objects.filter(is_active=True, role__in=[Role.EMPLOYEE, Role.MANAGER], brands__in=brands)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def user_label(user: User) -> str:
    return user.get_full_name().strip() or user.get_username()


class AssigneeFilter(django_filters.ChoiceFilter):
    """Assignee: "mine", "unassigned" or a person."""

    def filter(self, qs: QuerySet[Lead], value: str) -> QuerySet[Lead]:
        if not value:
            return qs
        if value == ASSIGNEE_MINE:
            return qs.filter(assignee=self.parent.request.user)
        if value == ASSIGNEE_UNASSIGNED:
            return qs.filter(assignee__isnull=True)
        return qs.filter(assignee_id=int(value))


class DuplicatesFilter(django_filters.ChoiceFilter):
    """Leads that repeat another, that others repeat, or either."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("empty_label", _("All"))
        options.setdefault(
            "choices",
            [
                ("duplicate", _("Is a duplicate of another lead")),
                ("original", _("Has duplicates")),
                ("any", _("Either")),
            ],
        )
        super().__init__(**options)

    def filter(self, qs: QuerySet[Lead], value: str) -> QuerySet[Lead]:
        has_duplicates = Q(pk__in=Lead.objects.filter(duplicate_of__isnull=False).values("duplicate_of_id"))
        if value == "duplicate":
            return qs.filter(duplicate_of__isnull=False)
        if value == "original":
            return qs.filter(has_duplicates)
        if value == "any":
            return qs.filter(Q(duplicate_of__isnull=False) | has_duplicates)
        return qs


class TagsFilter(django_filters.ModelMultipleChoiceFilter):
    """Leads holding any of the chosen tags, which read as their labels."""

    @property
    def field(self) -> Any:
        field = super().field
        field.label_from_instance = lambda tag: tag_label(tag.name)
        return field

    def filter(self, qs: QuerySet[Lead], value: Any) -> QuerySet[Lead]:
        if value in EMPTY_VALUES or not value:
            return qs
        return qs.filter(pk__in=TaggedLead.objects.filter(tag__in=value).values("content_object_id"))


class ConditionFilter(django_filters.ChoiceFilter):
    """A choice filter whose values each stand for a condition on leads (an unknown value is a form
    error, as with every choice filter, and filters nothing)."""

    def filter(self, qs: QuerySet[Lead], value: str) -> QuerySet[Lead]:
        condition = self.condition(value) if value not in EMPTY_VALUES else None
        return qs if condition is None else qs.filter(condition)

    def condition(self, value: str) -> Q | None:
        raise NotImplementedError


class NextActionFilter(ConditionFilter):
    """The lead's follow-ups: overdue, due today, tomorrow, in the next 7 days, or none planned
    (``crm.agenda.next_action_q``)."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("empty_label", _("Any"))
        super().__init__(choices=agenda.NEXT_ACTION_CHOICES, **options)

    def condition(self, value: str) -> Q | None:
        return agenda.next_action_q(value)


class StageFilter(ConditionFilter):
    """A stage, or "active": new and open leads (those still being worked)."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("empty_label", _("All"))
        choices = [(STAGE_ACTIVE, _("New or open")), *Stage.choices]
        super().__init__(choices=choices, **options)

    def condition(self, value: str) -> Q | None:
        if value == STAGE_ACTIVE:
            return Q(status__stage__in=[Stage.NEW, Stage.OPEN])
        return Q(status__stage=value) if value in Stage.values else None


class ContactedFilter(ConditionFilter):
    """Whether anyone has contacted the lead yet."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("empty_label", _("All"))
        choices = [(CONTACTED_YES, _("Contacted")), (CONTACTED_NO, _("Not contacted yet"))]
        super().__init__(choices=choices, **options)

    def condition(self, value: str) -> Q | None:
        if value in (CONTACTED_YES, CONTACTED_NO):
            return Q(first_contacted_at__isnull=value == CONTACTED_NO)
        return None


class AssignedWithinFilter(django_filters.NumberFilter):
    """Leads assigned in the last N days (a whole number; others are ignored), as the home's figures count."""

    MAX_DAYS = 3660

    def filter(self, qs: QuerySet[Lead], value: Any) -> QuerySet[Lead]:
        if value in EMPTY_VALUES or value != int(value) or not 0 < value <= self.MAX_DAYS:
            return qs
        since = timezone.now() - datetime.timedelta(days=int(value))
        return qs.filter(assigned_at__gte=since)
