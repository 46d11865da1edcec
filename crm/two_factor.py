"""Two-factor sign-in: who must use it, enrolment, codes, recovery codes, remembered browsers and resets.

The second factor is a TOTP device of django-otp (an authenticator app); a static device holds the ten
single-use recovery codes. A session is verified by ``mark_verified`` (django-otp's session key), which
``django_otp.middleware.OTPMiddleware`` reads back on every request; ``crm.middleware.SecondFactorMiddleware``
sends a signed-in person whose session still owes the second step (``pending_step``) to it before any other
page. Failed codes are failed sign-ins for django-axes, and a sign-in counts as successful (clearing the
person's failures) only once it is complete (``complete_sign_in``).
"""

from __future__ import annotations

import time
from base64 import b32encode
from binascii import unhexlify
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import verify_token as otp_verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key
from wagtail.log_actions import log

from . import audit
from .models import Role, User

RECOVERY_CODE_COUNT = 10
NOT_NEEDED_SESSION_KEY = "crm_two_factor_not_needed"
"""Set at sign-in for a person who neither must nor chose to use a second factor: no lookup per request."""
PENDING_KEY_SESSION_KEY = "crm_two_factor_pending_key"
"""The secret shown on the enrolment page until a code from it confirms it."""
LAST_SEEN_SESSION_KEY = "crm_last_seen"
DEVICE_CHECKED_SESSION_KEY = "crm_two_factor_checked"
DEVICE_CHECK_SECONDS = 60
"""How long a verified session trusts its device without reading it again (``VerifiedUserMiddleware``)."""
REMEMBER_COOKIE = "intralog_2fa_remember"
_REMEMBER_SALT = "crm.two_factor.remember"
_TOTP_STEP, _TOTP_DIGITS, _TOTP_TOLERANCE = 30, 6, 1


@dataclass(frozen=True)
class SessionDevice:
    """The device a session was verified with, as the session remembers it (not read again yet)."""

    persistent_id: str
    user_id: int


class Step(StrEnum):
    VERIFY = "verify"
    ENROL = "enrol"


def is_required(user: Any) -> bool:
    """Whether the person's role must sign in with a second factor (``TWO_FACTOR_REQUIRED_ROLES``)."""
    return bool(user.is_authenticated and user.role in settings.TWO_FACTOR_REQUIRED_ROLES)


def authenticator(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def pending_step(request: HttpRequest) -> Step | None:
    """What the signed-in person still owes before any page: a code, an enrolment, or nothing."""
    user: Any = request.user
    if not user.is_authenticated or user.is_verified():
        return None
    required = is_required(user)
    if not required and request.session.get(NOT_NEEDED_SESSION_KEY):
        return None
    if has_second_factor(user):
        return Step.VERIFY
    if required:
        return Step.ENROL
    request.session[NOT_NEEDED_SESSION_KEY] = True
    return None


def mark_verified(request: HttpRequest, device: TOTPDevice | StaticDevice) -> None:
    """The session has passed the second step with ``device`` (what ``django_otp.login`` stores)."""
    verify_session(request.session, device)
    if getattr(request, "user", None) is not None and request.user.pk == device.user_id:
        request.user.otp_device = device  # type: ignore[union-attr]


def verify_session(session: SessionBase, device: TOTPDevice | StaticDevice) -> None:
    """Write into ``session`` that it passed the second step with ``device``, checked just now."""
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[DEVICE_CHECKED_SESSION_KEY] = int(time.time())
    session.pop(NOT_NEEDED_SESSION_KEY, None)


def device_recently_checked(request: HttpRequest) -> bool:
    checked = request.session.get(DEVICE_CHECKED_SESSION_KEY)
    return isinstance(checked, int) and 0 <= time.time() - checked < DEVICE_CHECK_SECONDS


def note_device_checked(request: HttpRequest, found: bool) -> None:
    if found:
        request.session[DEVICE_CHECKED_SESSION_KEY] = int(time.time())
    else:
        request.session.pop(DEVICE_CHECKED_SESSION_KEY, None)


def complete_sign_in(request: HttpRequest, user: User) -> None:
    """The sign-in is complete: the person's failed attempts from this address no longer count."""
    AxesProxyHandler.update_request(request)
    reset_attempts = getattr(AxesProxyHandler.get_implementation(), "reset_user_attempts", None)
    if reset_attempts is not None:  # the database handler (AXES_HANDLER's default)
        reset_attempts(request, get_credentials(user.get_username()))


# Codes


def clean_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def verify_code(user: User, code: str) -> TOTPDevice | StaticDevice | None:
    """The device that accepts ``code``: the authenticator's current code (never one already used) or an
    unused recovery code, which is spent."""
    code = clean_code(code)
    if len(code) == _TOTP_DIGITS and code.isdigit():
        device: TOTPDevice | StaticDevice | None = authenticator(user)
    else:
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return None
    return otp_verify_token(user, device.persistent_id, code)


def record_failure(request: HttpRequest, user: User) -> bool:
    """Count a wrong code as a failed sign-in of the person; True when that locks them out."""
    user_login_failed.send(sender=__name__, credentials=get_credentials(user.get_username()), request=request)
    return bool(getattr(request, "axes_locked_out", False))


def is_locked(request: HttpRequest, user: User) -> bool:
    return AxesProxyHandler.is_locked(request, get_credentials(user.get_username()))


# Enrolment


def new_secret() -> str:
    return default_key()


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return TOTPDevice(user=user, key=secret).config_url


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG markup (drawn here, no request leaves the server)."""
    title = str(_("QR code for your authenticator app"))
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, omitsize=True, light="#fff", title=title)


def readable_secret(secret: str) -> str:
    """The secret as people type it into an app: base32 in groups of four."""
    text = b32encode(unhexlify(secret)).decode()
    return " ".join(text[index : index + 4] for index in range(0, len(text), 4))


def enrol(user: User, secret: str, code: str) -> tuple[TOTPDevice, list[str]] | None:
    """Turn on two-factor sign-in with ``secret`` if ``code`` is its current code; the device and the new
    recovery codes, or None. Replaces any earlier second factor; logged."""
    code = clean_code(code)
    if not (len(code) == _TOTP_DIGITS and code.isdigit()):
        return None
    totp = TOTP(unhexlify(secret), step=_TOTP_STEP, digits=_TOTP_DIGITS)
    totp.time = time.time()
    if not totp.verify(int(code), tolerance=_TOTP_TOLERANCE):
        return None
    with transaction.atomic():
        _remove_devices(user)
        device = TOTPDevice.objects.create(
            user=user,
            name=str(_("Authenticator app")),
            key=secret,
            confirmed=True,
            last_t=totp.t(),
            drift=totp.drift,
        )
        codes = new_recovery_codes(user)
        log(instance=user, action="crm.two_factor.enrolled", user=user)
        audit.record(audit.TWO_FACTOR_ENROLLED, user, target=audit.person_target(user))
    return device, codes


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh single-use recovery codes; the earlier ones stop working."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=str(_("Recovery codes")), confirmed=True)
        codes = [StaticToken.random_token() for _index in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def disable(user: User) -> None:
    """The person turns their second factor off (only where their role does not require it); logged."""
    if is_required(user):
        raise PermissionDenied(_("Your role requires two-factor sign-in."))
    with transaction.atomic():
        _remove_devices(user)
        log(instance=user, action="crm.two_factor.disabled", user=user)
        audit.record(audit.TWO_FACTOR_DISABLED, user, target=audit.person_target(user))


def can_reset(actor: Any) -> bool:
    return bool(actor and actor.is_authenticated and actor.is_active and actor.role == Role.ADMIN)


def reset(actor: User, person: User) -> None:
    """An admin removes a person's second factor (authenticator, recovery codes, remembered browsers): their
    verified sessions need the second step again and they enrol anew. Logged."""
    if not can_reset(actor):
        raise PermissionDenied(_("Only admins can reset a second factor."))
    with transaction.atomic():
        _remove_devices(person)
        log(instance=person, action="crm.two_factor.reset", user=actor)
        audit.record(
            audit.TWO_FACTOR_RESET, actor, target=audit.person_target(person), detail={"user_id": person.pk}
        )


def _remove_devices(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


# Remembered browsers: a signed cookie bound to the person, their authenticator record and their password.


def _binding(user: User, device: TOTPDevice) -> str:
    value = f"{user.pk}|{device.persistent_id}|{device.key}|{user.password}"
    return salted_hmac(_REMEMBER_SALT, value, algorithm="sha256").hexdigest()


def _remember_seconds() -> int:
    return settings.TWO_FACTOR_REMEMBER_DAYS * 24 * 60 * 60


def remember_browser(response: HttpResponse, user: User, device: TOTPDevice) -> None:
    """This browser skips the code for ``TWO_FACTOR_REMEMBER_DAYS``, until the person's password changes or
    their second factor is reset or its remembered browsers forgotten."""
    response.set_signed_cookie(
        REMEMBER_COOKIE,
        f"{user.pk}:{device.persistent_id}:{_binding(user, device)}",
        salt=_REMEMBER_SALT,
        max_age=_remember_seconds(),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def remembered_device(request: HttpRequest, user: User) -> TOTPDevice | None:
    """The person's authenticator if this browser's cookie remembers it, else None."""
    value = request.get_signed_cookie(
        REMEMBER_COOKIE, default=None, salt=_REMEMBER_SALT, max_age=_remember_seconds()
    )
    if not value:
        return None
    user_id, _colon, rest = value.partition(":")
    persistent_id, _colon, binding = rest.rpartition(":")
    if user_id != str(user.pk):
        return None
    device = authenticator(user)
    if device is None or device.persistent_id != persistent_id:
        return None
    return device if constant_time_compare(binding, _binding(user, device)) else None


def forget_browsers(user: User) -> TOTPDevice | None:
    """Forget every browser that remembers the person: the authenticator record is issued anew with the
    same secret (the app keeps working) and its used time steps, so no remembered cookie matches it."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
        )
        if device is None:
            return None
        old_pk = device.pk
        device.pk = None
        device.save()
        TOTPDevice.objects.filter(pk=old_pk).delete()
    return device


# Sign-in


def _on_user_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """Right after the password: a remembered browser is verified at once; a person without a second
    factor who needs none has signed in completely."""
    if request is None or not hasattr(request, "session"):
        return
    request.session[LAST_SEEN_SESSION_KEY] = int(time.time())
    request.session.pop(NOT_NEEDED_SESSION_KEY, None)
    device = remembered_device(request, user)
    if device is not None:
        mark_verified(request, device)
        complete_sign_in(request, user)
    elif not is_required(user) and not has_second_factor(user):
        request.session[NOT_NEEDED_SESSION_KEY] = True
        complete_sign_in(request, user)


def connect_signals() -> None:
    user_logged_in.connect(_on_user_logged_in, dispatch_uid="crm_two_factor_logged_in")


# Idle sessions


def session_idle_expired(request: HttpRequest) -> bool:
    """Whether the session sat idle longer than ``SESSION_IDLE_TIMEOUT_MINUTES`` (0: never). Notes the
    activity at most once a minute, so a busy session is not written on every request."""
    limit = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
    now = int(time.time())
    last_seen = request.session.get(LAST_SEEN_SESSION_KEY)
    if limit and isinstance(last_seen, int) and now - last_seen > limit:
        return True
    if not isinstance(last_seen, int) or now - last_seen >= 60:
        request.session[LAST_SEEN_SESSION_KEY] = now
    return False
