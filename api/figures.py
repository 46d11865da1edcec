"""The dashboards' daily figures through the API: the per-person, per-brand rollup
(``dashboards.PersonBrandDay``) under the team dashboard's rule: admins every row, managers their brands'
rows, employees their own, marketing none."""

import datetime
from typing import Any

from django.db.models import Q

from crm.access import brand_ids
from crm.models import Role, User
from dashboards.models import PersonBrandDay

FIGURES = ("activity", "contacted", "first_contacts", "quoted", "won")
MAX_DAYS = 366


def _scope(user: User) -> Q | None:
    if not user.is_active:
        return None
    if user.role == Role.ADMIN:
        return Q()
    if user.role == Role.MANAGER:
        return Q(brand_id__in=sorted(brand_ids(user)))
    if user.role == Role.EMPLOYEE:
        return Q(person_id=user.pk)
    return None


def daily(
    user: User, since: datetime.date, until: datetime.date, brand: int | None = None
) -> list[dict[str, Any]]:
    """Rows of (day, person, brand) with the day's figures, ``since``..``until`` inclusive."""
    scope = _scope(user)
    if scope is None:
        return []
    rows = PersonBrandDay.objects.filter(scope, day__gte=since, day__lte=until)
    if brand is not None:
        rows = rows.filter(brand_id=brand)
    return list(
        rows.order_by("day", "person_id", "brand_id").values("day", "person_id", "brand_id", *FIGURES)
    )
