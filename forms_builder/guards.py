"""Spam guards with no third party: a honeypot, a single-use render token, a minimum fill time, a rate limit.

The render token is signed into each rendering of the form; a page load can submit once, no sooner
than the minimum fill time after it was rendered and within ``LEAD_FORM_TOKEN_MAX_AGE``.
"""

import hashlib
import os
import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest
from wagtail.models import Page

from core import once
from core.client_ip import client_ip
from core.visits import truncate_ip

from .forms import HONEYPOT_FIELD, RENDER_TOKEN_FIELD
from .records import RejectedSubmission, RejectionReason

TOKEN_SALT = "forms_builder.render"  # noqa: S105 (a signing namespace, not a secret)


def _setting(name: str, default: float) -> float:
    """A Django setting, else the environment variable of the same name, else ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, "").strip() or default
    return float(value)


def min_fill_seconds() -> float:
    return _setting("LEAD_FORM_MIN_FILL_SECONDS", 3)


def token_max_age() -> float:
    """Seconds a rendered form may be sent within (its used token is remembered that long)."""
    return _setting("LEAD_FORM_TOKEN_MAX_AGE", 86400)


def rate_limit() -> tuple[int, int]:
    """(submissions, seconds) allowed per client IP; 0 submissions turns the limit off."""
    return int(_setting("LEAD_FORM_RATE_LIMIT", 10)), int(_setting("LEAD_FORM_RATE_WINDOW", 600))


def make_render_token(page_id: int, rendered_at: float | None = None) -> str:
    """A signed token for one rendering of the form: the page, the time and a nonce of its own."""
    return signing.dumps(
        {
            "p": page_id,
            "t": rendered_at if rendered_at is not None else time.time(),
            "n": secrets.token_urlsafe(9),
        },
        salt=TOKEN_SALT,
    )


def rendered_at(token: str, page_id: int) -> float | None:
    """The render time signed into ``token`` for this page, or None when it is missing or forged."""
    try:
        data = signing.loads(token or "", salt=TOKEN_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("p") != page_id or not isinstance(data.get("t"), (int, float)):
        return None
    return float(data["t"])


def fill_seconds(request: HttpRequest, page: Page) -> float | None:
    started = rendered_at(request.POST.get(RENDER_TOKEN_FIELD, ""), page.pk)
    return None if started is None else max(0.0, time.time() - started)


def _token_key(token: str) -> str:
    return "lead-form:" + hashlib.sha256(token.encode()).hexdigest()[:40]


def claim_render_token(request: HttpRequest) -> bool:
    """Mark the render token of this POST used; False when it already was (a page load submits once).

    A ``core.once`` claim: made in the transaction that stores the submission, it is committed with it,
    or gone with it when storing fails or the process dies, so a retry of the same POST is stored. Of two
    simultaneous submissions with one token only one claims it. The mark lives as long as the token is
    valid.
    """
    token = request.POST.get(RENDER_TOKEN_FIELD, "")
    return once.claim(_token_key(token), keep=timedelta(seconds=token_max_age() + 3600))


def _over_rate_limit(request: HttpRequest) -> bool:
    limit, window = rate_limit()
    if limit <= 0:
        return False
    digest = hashlib.sha256(client_ip(request).encode()).hexdigest()[:32]
    key = f"forms_builder:rate:{digest}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window)
        count = 1
    return count > limit


def is_staff(user: Any) -> bool:
    return bool(
        user and user.is_authenticated and user.is_active and user.has_perm("wagtailadmin.access_admin")
    )


def rejection_reason(request: HttpRequest, page: Page) -> RejectionReason | None:
    """Why this POST is refused as spam, or None when it may be processed."""
    if request.POST.get(HONEYPOT_FIELD, "").strip():
        return RejectionReason.HONEYPOT
    seconds = fill_seconds(request, page)
    if seconds is None:
        return RejectionReason.BAD_TOKEN
    if seconds > token_max_age():
        return RejectionReason.EXPIRED_TOKEN
    if once.claimed(_token_key(request.POST.get(RENDER_TOKEN_FIELD, ""))):
        return RejectionReason.REUSED_TOKEN
    if seconds < min_fill_seconds():
        return RejectionReason.TOO_FAST
    if not is_staff(request.user) and _over_rate_limit(request):
        return RejectionReason.RATE_LIMITED
    return None


def log_rejection(request: HttpRequest, page: Page, reason: str) -> RejectedSubmission:
    return RejectedSubmission.objects.create(
        page=page,
        reason=reason,
        ip_prefix=truncate_ip(client_ip(request)),
        user_agent=request.headers.get("user-agent", "")[:300],
        fill_seconds=fill_seconds(request, page),
    )
