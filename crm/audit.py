"""The audit trail: one call, ``record``, for every app that does something an admin must be able to trace.

Audited: exports (who, which filter, how many rows), personal-data exports and erasures, role and
permission changes, second-factor resets and sign-ins. Entries are only ever added (``AuditEntry``);
admins browse them in Settings → Audit trail (``crm.viewsets.audit_trail``).

What is written must not itself be the personal data a person may have erased: name leads and people by
id (and staff by username); never write a lead's email, phone or name into ``target`` or ``detail``.

The actor and the address of the request being served are kept in a context variable
(``AuditContextMiddleware``), so changes heard through model signals (a role, a group, a brand) are
attributed to whoever made them; outside a request (shell, jobs) the actor is empty, "the system".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from core.client_ip import client_ip

from .models import AuditEntry, User

EXPORT = "export"
PERSONAL_DATA_EXPORT = "personal_data.export"
PERSONAL_DATA_ERASE = "personal_data.erase"
PEOPLE_CREATED = "people.created"
PEOPLE_DELETED = "people.deleted"
PEOPLE_INVITED = "people.invited"
ROLE_CHANGED = "people.role_changed"
ACTIVE_CHANGED = "people.active_changed"
GROUPS_CHANGED = "people.groups_changed"
USER_PERMISSIONS_CHANGED = "people.permissions_changed"
BRANDS_CHANGED = "people.brands_changed"
GROUP_PERMISSIONS_CHANGED = "groups.permissions_changed"
TWO_FACTOR_RESET = "two_factor.reset"
TWO_FACTOR_ENROLLED = "two_factor.enrolled"
TWO_FACTOR_DISABLED = "two_factor.disabled"
SIGN_IN_LOCK_CLEARED = "sign_in.lock_cleared"
SIGNED_IN = "auth.signed_in"
SECOND_FACTOR_PASSED = "auth.second_factor_passed"
SIGN_IN_FAILED = "auth.sign_in_failed"
LOCKED_OUT = "auth.locked_out"
SIGNED_OUT = "auth.signed_out"

ACTIONS: dict[str, StrOrPromise] = {
    EXPORT: _("Export"),
    PERSONAL_DATA_EXPORT: _("Personal data exported"),
    PERSONAL_DATA_ERASE: _("Personal data erased"),
    PEOPLE_CREATED: _("Person created"),
    PEOPLE_DELETED: _("Person deleted"),
    PEOPLE_INVITED: _("Person invited"),
    ROLE_CHANGED: _("Role changed"),
    ACTIVE_CHANGED: _("Account activated or deactivated"),
    GROUPS_CHANGED: _("Group membership changed"),
    USER_PERMISSIONS_CHANGED: _("Person's permissions changed"),
    BRANDS_CHANGED: _("Person's brands changed"),
    GROUP_PERMISSIONS_CHANGED: _("Group's permissions changed"),
    TWO_FACTOR_RESET: _("Second factor reset"),
    TWO_FACTOR_ENROLLED: _("Second factor turned on"),
    TWO_FACTOR_DISABLED: _("Second factor turned off"),
    SIGN_IN_LOCK_CLEARED: _("Sign-in lock cleared"),
    SIGNED_IN: _("Signed in"),
    SECOND_FACTOR_PASSED: _("Second sign-in step passed"),
    SIGN_IN_FAILED: _("Sign-in failed"),
    LOCKED_OUT: _("Locked out"),
    SIGNED_OUT: _("Signed out"),
}
"""Each action's label (the trail's filter and column). Other apps add theirs with ``register_action``."""

_request: ContextVar[HttpRequest | None] = ContextVar("crm_audit_request", default=None)


def register_action(code: str, label: StrOrPromise) -> None:
    """Give an action of another app its label in the trail's filter and column."""
    ACTIONS[code] = label


def action_label(code: str) -> str:
    return str(ACTIONS.get(code, code))


def action_choices() -> list[tuple[str, str]]:
    return sorted(((code, str(label)) for code, label in ACTIONS.items()), key=lambda choice: choice[1])


@contextmanager
def request_context(request: HttpRequest) -> Iterator[None]:
    """Attribute what is recorded meanwhile without a request of its own to ``request`` (its user, its IP)."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def current_request() -> HttpRequest | None:
    return _request.get()


def _address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    address = client_ip(request)
    try:
        validate_ipv46_address(address)
    except ValidationError:
        return None
    return address


def _person(actor: Any) -> tuple[int | None, str, str]:
    if actor is None or isinstance(actor, AnonymousUser) or not getattr(actor, "is_authenticated", False):
        return None, "", ""
    return actor.pk, actor.get_username()[:150], str(getattr(actor, "role", "") or "")[:16]


def record(
    action: str,
    actor: User | AnonymousUser | None = None,
    *,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Add an entry to the audit trail and return it.

    ``actor`` is who did it (None: the request's user, else the system); ``target`` what it was done to,
    briefly ("user 12", "leads"); ``detail`` JSON-serialisable facts (a filter, a count, before and after).
    ``request`` gives the address (default: the request being served, if any). The entry is written in the
    caller's transaction: an action rolled back leaves no entry.
    """
    request = request or current_request()
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    actor_id, actor_name, actor_role = _person(actor)
    return AuditEntry.objects.create(
        action=action[:64],
        actor_id=actor_id,
        actor_name=actor_name,
        actor_role=actor_role,
        ip_address=_address(request),
        target=str(target)[:255],
        detail=dict(detail or {}),
    )


def query_filter(query: QueryDict, ignore: tuple[str, ...] = ("export",)) -> dict[str, Any]:
    """A request's query parameters as the filter an export applied: one value, or a list of several."""
    result: dict[str, Any] = {}
    for key in sorted(query):
        if key in ignore:
            continue
        values = query.getlist(key)
        result[key[:100]] = values[0][:500] if len(values) == 1 else [value[:500] for value in values[:50]]
    return result


def record_export(request: HttpRequest, name: str, rows: int, export_format: str) -> AuditEntry:
    """Record that the request's user exported ``rows`` rows of ``name`` with the request's filter."""
    return record(
        EXPORT,
        getattr(request, "user", None),
        target=name,
        detail={
            "format": export_format,
            "rows": rows,
            "filter": query_filter(request.GET),
            "path": request.path[:500],
        },
        request=request,
    )


def person_target(user: Any) -> str:
    """How a person is named in ``target``: their username and id."""
    return f"{user.get_username()} (#{user.pk})"


def _shown(value: object) -> str:
    """A detail value in words: yes/no for booleans, a dash for nothing."""
    if value is True:
        return str(_("yes"))
    if value is False:
        return str(_("no"))
    if value is None:
        return "—"
    return str(value)


def summary(entry: AuditEntry) -> str:
    """The detail in one line for the listing and the export: ``key: value; ...``."""
    parts = []
    for key, value in (entry.detail or {}).items():
        if value in ("", [], {}) or value is None:
            continue
        if isinstance(value, dict):
            text = ", ".join(f"{inner}={_shown(item)}" for inner, item in value.items())
        elif isinstance(value, list):
            text = ", ".join(_shown(item) for item in value)
        else:
            text = _shown(value)
        parts.append(f"{key}: {text}")
    return "; ".join(parts)
