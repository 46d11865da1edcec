"""What the API reads: pages of leads and events for incremental extraction, and the small catalogues.

Every read starts from ``crm.access`` (``leads_for``, ``events_for``), so a token sees exactly what its
owner sees in the admin. A page is one ``values()`` query on the keyset index, serialised without models.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict

from crm import access
from crm.filters import brands_for
from crm.models import Campaign, Lead, LeadEvent, PipelineStatus, Role, Service, Source, User
from crm.search import search_leads
from crm.views.listing import LeadFilterSet

from .paging import Position, after_updated, decode, encode
from .rendering import dumps, rows_as_json

LEADS, EVENTS = "leads", "events"
LEAD_COLUMNS = (
    "id",
    "contact_name",
    "company",
    "email",
    "phone",
    "phone_e164",
    "location",
    "message",
    "brand_id",
    "service_id",
    "service_text",
    "source_id",
    "campaign_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "status_id",
    "assignee_id",
    "priority",
    "duplicate_of_id",
    "merged_into_id",
    "submitted_at",
    "received_at",
    "assigned_at",
    "first_contacted_at",
    "status_changed_at",
    "last_activity_at",
    "next_action_at",
    "opted_out_at",
    "quote_amount",
    "quote_currency",
    "quoted_on",
    "expected_close_on",
    "won_amount",
    "won_currency",
    "won_on",
    "lost_reason_id",
    "updated_at",
)
EVENT_COLUMNS = (
    "id",
    "lead_id",
    "actor_id",
    "kind",
    "from_value",
    "to_value",
    "channel",
    "outcome",
    "note",
    "created_at",
)
MONEY_COLUMNS = ("quote_amount", "won_amount")
PAGING_PARAMETERS = frozenset({"cursor", "limit", "updated_after", "q"})


class BadFilter(ValueError):
    """A query parameter the listing does not know, or a value its filters refuse."""

    def __init__(self, errors: dict[str, Any]) -> None:
        self.errors = errors
        super().__init__(str(errors))


@dataclass
class Page:
    rows_json: str
    next_cursor: str
    has_more: bool

    def json(self) -> str:
        """The page as the API answers it, the rows' JSON as the database or ``rendering`` wrote it."""
        tail = dumps({"next_cursor": self.next_cursor, "has_more": self.has_more})
        return f'{{"results":{self.rows_json},{tail[1:]}'


def filter_parameters(filterset: LeadFilterSet) -> set[str]:
    """The query parameters of the lead listing's filters (a date range is its ``_from`` and ``_to``)."""
    names = set()
    for name, built in filterset.filters.items():
        if isinstance(built, django_filters.DateFromToRangeFilter):
            names |= {f"{name}_from", f"{name}_to"}
        else:
            names.add(name)
    return names


def filtered_leads(request: HttpRequest, query: QueryDict) -> QuerySet[Lead]:
    """The leads the request's user may see, narrowed by the lead listing's own filters and search.

    Without filters no filter set is built (it reads the statuses and people for its choices)."""
    leads = access.leads_for(request.user)
    filters = QueryDict(mutable=True)
    for name, values in query.lists():
        if name not in PAGING_PARAMETERS:
            filters.setlist(name, values)
    if filters:
        filterset = LeadFilterSet(filters, leads, request=request)
        unknown = set(filters) - filter_parameters(filterset)
        if unknown:
            raise BadFilter({name: ["Unknown parameter."] for name in sorted(unknown)})
        if not filterset.is_valid():
            raise BadFilter(filterset.errors.get_json_data())
        leads = filterset.qs
    text = (query.get("q") or "").strip()
    return search_leads(leads, text) if text else leads


def lead_page(
    leads: QuerySet[Lead], cursor: str | None, limit: int, updated_after: datetime.datetime | None = None
) -> Page:
    """One page of ``leads`` in ``(updated_at, id)`` order after ``cursor`` (else after
    ``updated_after``, else from the start). The cursor to go on from is given even on the last page, so
    the next extraction starts where this one ended."""
    position = decode(LEADS, cursor) if cursor else None
    if position is not None:
        leads = leads.filter(after_updated(position))
    elif updated_after is not None:
        leads = leads.filter(updated_at__gt=updated_after)
    ordered = leads.order_by("updated_at", "id").values(*LEAD_COLUMNS)[:limit]
    body, count, last = rows_as_json(ordered, LEAD_COLUMNS, ("updated_at", "id"), MONEY_COLUMNS)
    if last is not None:
        position = Position(last["id"], last["updated_at"])
    return Page(body, encode(LEADS, position) if position else (cursor or ""), count == limit)


def event_page(events: QuerySet[LeadEvent], cursor: str | None, limit: int) -> Page:
    """One page of ``events`` (which never change) in id order after ``cursor``."""
    position = decode(EVENTS, cursor) if cursor else None
    if position is not None:
        events = events.filter(id__gt=position.id)
    body, count, last = rows_as_json(
        events.order_by("id").values(*EVENT_COLUMNS)[:limit], EVENT_COLUMNS, ("id",)
    )
    if last is not None:
        position = Position(last["id"])
    return Page(body, encode(EVENTS, position) if position else (cursor or ""), count == limit)


def lead_row(user: User, lead_id: int) -> dict[str, Any] | None:
    return access.leads_for(user).filter(pk=lead_id).values(*LEAD_COLUMNS).first()


def events_of_lead(user: User, lead_id: int) -> list[dict[str, Any]] | None:
    """The events of one lead the user may see, oldest first; None when they may not see it."""
    rows = list(
        access.events_for(user).filter(lead_id=lead_id).order_by("created_at", "id").values(*EVENT_COLUMNS)
    )
    if rows or access.leads_for(user).filter(pk=lead_id).exists():
        return rows
    return None


def _dicts(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]


def statuses() -> list[dict[str, Any]]:
    return _dicts(
        PipelineStatus.objects.order_by("order", "pk").values(
            "id", "key", "label", "label_es", "stage", "order", "probability"
        )
    )


def services(user: User) -> list[dict[str, Any]]:
    return _dicts(
        Service.objects.filter(brand__in=brands_for(user))
        .order_by("brand_id", "name", "pk")
        .values("id", "brand_id", "name", "is_active")
    )


def sources() -> list[dict[str, Any]]:
    return _dicts(Source.objects.order_by("pk").values("id", "key", "name", "name_es"))


def campaigns(user: User) -> list[dict[str, Any]]:
    return _dicts(
        Campaign.objects.filter(Q(brand__in=brands_for(user)) | Q(brand__isnull=True))
        .order_by("pk")
        .values("id", "name", "brand_id", "channel", "starts_on", "ends_on", "is_active")
    )


def people(user: User) -> list[dict[str, Any]]:
    """Names and roles of the people who share a brand with ``user`` (admins: everyone); nothing else
    about them (no email, phone or username)."""
    found = (
        User.objects.all() if user.role == Role.ADMIN else User.objects.filter(brands__in=brands_for(user))
    )
    return [
        {"id": pk, "name": f"{first} {last}".strip(), "role": role, "is_active": active}
        for pk, first, last, role, active in found.distinct()
        .order_by("pk")
        .values_list("pk", "first_name", "last_name", "role", "is_active")
    ]
