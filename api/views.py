"""The API at /api/v1/: thin endpoints over ``api.extraction``, ``api.figures`` and ``api.services``.

Docs at /api/v1/docs (Swagger UI from the server's own static files) and the schema at
/api/v1/openapi.json, for people signed in to the admin."""

import datetime
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, NinjaAPI, Query
from ninja.errors import AuthenticationError

from crm.models import User
from crm.services import StatusConflict

from . import extraction, figures, services
from .auth import BodyTooLarge, RateLimited, TokenAuth
from .paging import CursorError
from .rendering import json_response, raw_json_response
from .schemas import (
    CampaignOut,
    CreatedLead,
    DayOut,
    Error,
    EventOut,
    EventPage,
    LeadIn,
    LeadOut,
    LeadPage,
    NoteIn,
    PersonOut,
    ServiceOut,
    SourceOut,
    StatusIn,
    StatusOut,
)

DEFAULT_PAGE_SIZE = 1000
ERRORS: dict[int, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 413: Error, 422: Error, 429: Error}


def signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The docs and schema: for people who may use the admin (their two-factor step done, by the
    middleware); anybody else is sent to sign in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm("wagtailadmin.access_admin"):
            return redirect_to_login(request.get_full_path(), reverse("wagtailadmin_login"))
        return view(request, *args, **kwargs)

    return wrapped


api = NinjaAPI(
    title="INTRALOG Leads Manager API",
    version="1",
    urls_namespace="api_v1",
    auth=TokenAuth(),
    docs_decorator=signed_in,
    description=(
        "Personal tokens from your account (API tokens). Each token sees exactly the leads its owner sees. "
        "Extraction pages by an opaque cursor over (updated_at, id): keep the last next_cursor and start "
        "the next run from it."
    ),
)


def _error(request: HttpRequest, status: int, detail: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail}, status=status)


@api.exception_handler(BodyTooLarge)
def body_too_large(request: HttpRequest, error: BodyTooLarge) -> HttpResponse:
    return _error(request, 413, _("The request body is too large."))


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, error: RateLimited) -> HttpResponse:
    response = _error(request, 429, _("Too many requests with this token; try again later."))
    response["Retry-After"] = str(error.seconds)
    return response


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, _("A valid API token is required (unknown, revoked or expired)."))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(CursorError)
def bad_cursor(request: HttpRequest, error: CursorError) -> HttpResponse:
    return _error(request, 400, _("That cursor is not valid here: start again without it."))


@api.exception_handler(extraction.BadFilter)
def bad_filter(request: HttpRequest, error: extraction.BadFilter) -> HttpResponse:
    return _error(request, 400, error.errors)


@api.exception_handler(services.LeadNotFound)
def not_found(request: HttpRequest, error: services.LeadNotFound) -> HttpResponse:
    return _error(request, 404, _("No such lead."))


@api.exception_handler(PermissionDenied)
def denied(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return _error(request, 403, str(error) or _("Not allowed."))


@api.exception_handler(ValidationError)
def refused(request: HttpRequest, error: ValidationError) -> HttpResponse:
    detail = error.message_dict if hasattr(error, "error_dict") else error.messages
    return _error(request, 422, detail)


@api.exception_handler(services.IdempotencyConflict)
def idempotency_conflict(request: HttpRequest, error: services.IdempotencyConflict) -> HttpResponse:
    return _error(request, 409, _("This Idempotency-Key was used with another body."))


@api.exception_handler(StatusConflict)
def status_conflict(request: HttpRequest, error: StatusConflict) -> HttpResponse:
    return _error(request, 409, str(error))


def owner(request: HttpRequest) -> User:
    """The token's owner, whom ``TokenAuth`` made the request's user."""
    return cast(User, request.user)


def _page_size(limit: int) -> int:
    return min(limit, settings.API_MAX_PAGE_SIZE)


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


@api.get("/leads", response={200: LeadPage, **ERRORS}, tags=["leads"])
def leads(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1),
    updated_after: datetime.datetime | None = None,
    q: str | None = Query(None, max_length=200),
) -> HttpResponse:
    """Leads in (updated_at, id) order. Filters are the lead listing's: status (ids, repeatable), stage,
    assignee (id, "mine", "unassigned"), brand, service, source, campaign, submitted_from/_to,
    received_from/_to, contacted, next_action, duplicates, tags, assigned_within, sla; q searches."""
    found = extraction.filtered_leads(request, request.GET)
    page = extraction.lead_page(found, cursor, _page_size(limit), _aware(updated_after))
    return raw_json_response(page.json())


@api.get("/leads/{lead_id}", response={200: LeadOut, **ERRORS}, tags=["leads"])
def lead(request: HttpRequest, lead_id: int) -> HttpResponse:
    row = extraction.lead_row(owner(request), lead_id)
    if row is None:
        raise services.LeadNotFound(lead_id)
    return json_response(row)


@api.get("/leads/{lead_id}/events", response={200: list[EventOut], **ERRORS}, tags=["events"])
def lead_events(request: HttpRequest, lead_id: int) -> HttpResponse:
    rows = extraction.events_of_lead(owner(request), lead_id)
    if rows is None:
        raise services.LeadNotFound(lead_id)
    return json_response(rows)


@api.get("/events", response={200: EventPage, **ERRORS}, tags=["events"])
def events(
    request: HttpRequest, cursor: str | None = None, limit: int = Query(DEFAULT_PAGE_SIZE, ge=1)
) -> HttpResponse:
    """Events of the leads you may see, oldest first (events never change)."""
    found = extraction.access.events_for(owner(request))
    page = extraction.event_page(found, cursor, _page_size(limit))
    return raw_json_response(page.json())


@api.get("/statuses", response=list[StatusOut], tags=["catalogues"])
def statuses(request: HttpRequest) -> HttpResponse:
    return json_response(extraction.statuses())


@api.get("/services", response=list[ServiceOut], tags=["catalogues"])
def service_list(request: HttpRequest) -> HttpResponse:
    return json_response(extraction.services(owner(request)))


@api.get("/sources", response=list[SourceOut], tags=["catalogues"])
def sources(request: HttpRequest) -> HttpResponse:
    return json_response(extraction.sources())


@api.get("/campaigns", response=list[CampaignOut], tags=["catalogues"])
def campaigns(request: HttpRequest) -> HttpResponse:
    return json_response(extraction.campaigns(owner(request)))


@api.get("/people", response=list[PersonOut], tags=["catalogues"])
def people(request: HttpRequest) -> HttpResponse:
    return json_response(extraction.people(owner(request)))


@api.get("/dashboards/daily", response={200: list[DayOut], **ERRORS}, tags=["dashboards"])
def daily(
    request: HttpRequest, since: datetime.date, until: datetime.date, brand: int | None = None
) -> HttpResponse:
    """The per-person daily figures of the team dashboard, at most a year at a time."""
    if until < since or (until - since).days >= figures.MAX_DAYS:
        return _error(request, 400, _("Give a range of at most a year, since before until."))
    return json_response(figures.daily(owner(request), since, until, brand))


def _created(request: HttpRequest, created: services.Created) -> HttpResponse:
    row = extraction.lead_row(owner(request), created.lead.pk)
    return json_response(
        {"lead": row, "id": created.lead.pk, "replayed": created.replayed},
        status=200 if created.replayed else 201,
    )


@api.post("/leads", response={201: CreatedLead, 200: CreatedLead, 409: Error, **ERRORS}, tags=["leads"])
def create_lead(
    request: HttpRequest,
    body: LeadIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", max_length=200),
) -> HttpResponse:
    """Create a lead through the same intake as every channel. A retry with the same Idempotency-Key and
    body answers with the same lead (200, replayed); the same key with another body is a 409."""
    fields = body.model_dump(exclude_unset=True)
    created = services.create_lead_once(owner(request), idempotency_key, request.body, fields)
    return _created(request, created)


@api.post("/leads/{lead_id}/notes", response={201: EventOut, **ERRORS}, tags=["leads"])
def add_note(request: HttpRequest, lead_id: int, body: NoteIn) -> HttpResponse:
    event = services.add_note(owner(request), lead_id, body.note)
    return json_response({name: getattr(event, name) for name in extraction.EVENT_COLUMNS}, status=201)


@api.post("/leads/{lead_id}/status", response={200: LeadOut, 409: Error, **ERRORS}, tags=["leads"])
def change_status(request: HttpRequest, lead_id: int, body: StatusIn) -> HttpResponse:
    """Move a lead within the admin's rules (employees only forward, never reopening)."""
    services.change_status(
        owner(request),
        lead_id,
        body.status,
        body.note,
        lost_reason=body.lost_reason,
        follow_up_at=_aware(body.follow_up_at),
    )
    return json_response(extraction.lead_row(owner(request), lead_id))
