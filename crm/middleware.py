"""Sign-in middleware: the second step before any page, the end of idle sessions, the audit trail's actor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import LazyObject
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware

from . import audit, two_factor

OPEN_URL_NAMES = frozenset(
    {
        "crm_two_factor:verify",
        "crm_two_factor:enrol",
        "crm:accept_invitation",
        "wagtailadmin_login",
        "wagtailadmin_logout",
        "wagtailadmin_password_reset",
        "wagtailadmin_password_reset_done",
        "wagtailadmin_password_reset_confirm",
        "wagtailadmin_password_reset_complete",
        "wagtailadmin_javascript_catalog",
        "wagtailadmin_sprite",
        "ops_healthz",
        "ops_readyz",
    }
)
"""What a person who still owes the second step may open (static files are served before this runs)."""


class VerifiedUserMiddleware(OTPMiddleware):
    """django-otp's middleware (``request.user.is_verified()``), with two changes.

    The device a session was verified with is read from the database at most once a minute
    (``two_factor.DEVICE_CHECK_SECONDS``); in between the session's word stands, so a verified page costs
    no query and a reset or a forgotten browser reaches a live session within a minute.

    ``request.user`` wraps the user itself rather than the authentication middleware's lazy object:
    Wagtail's ``log`` unwraps one level to find the user's log model, and would find none under two.
    """

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        if isinstance(user, LazyObject):
            user.pk  # noqa: B018 - evaluates the lazy user
            user = user._wrapped
        self._init_user_fields(user)
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY) if user.is_authenticated else None
        if not persistent_id:
            return user
        if two_factor.device_recently_checked(request):
            user.otp_device = two_factor.SessionDevice(persistent_id, user.pk)
            return user
        device = self._finalize_device(request, user, self._device_from_persistent_id(persistent_id))
        user.otp_device = device
        two_factor.note_device_checked(request, device is not None)
        return user


class SecondFactorMiddleware:
    """A signed-in person whose session owes a code or an enrolment (``crm.two_factor.pending_step``) gets a
    redirect to that step from every URL but ``OPEN_URL_NAMES``: admin pages, exports, reports, the API and
    the site alike. After ``OTPMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_URL_NAMES:
            return None
        if not request.user.is_authenticated:
            return None
        step = two_factor.pending_step(request)
        if step is None:
            return None
        target = reverse(f"crm_two_factor:{step}")
        return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")


class SessionIdleTimeoutMiddleware:
    """Sign out a session idle longer than ``SESSION_IDLE_TIMEOUT_MINUTES``. After authentication."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if SESSION_KEY in request.session and two_factor.session_idle_expired(request):
            logout(request)
        return self.get_response(request)


class AuditContextMiddleware:
    """Attribute audit entries recorded while a request is served (model signals included) to its user and
    address (``crm.audit.request_context``). After authentication."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit.request_context(request):
            return self.get_response(request)
