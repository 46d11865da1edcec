"""POSTs carried out once: a double click, a resent form or a proxy's retry does nothing the second time.

A form that should be carried out once is rendered with a fresh key in its action's query
(``with_key``: ``?once=…``). Its view claims the key in the transaction that does the work (``claim``):
if the work fails or its process dies, the claim goes with it and a retry is carried out; if the work
was committed, the same POST again finds the claim and is answered without doing it again. The proxy in
``deploy/haproxy`` retries a POST carrying a key on another app server when its own died before
answering. A view may claim any other single-use value the same way (the lead form's render token).
"""

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import KEY_LENGTH, OnceKey

PARAMETER = "once"
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
DEFAULT_KEEP = timedelta(days=1)
IGNORED_FIELDS = frozenset({"csrfmiddlewaretoken"})


def new_key() -> str:
    return secrets.token_urlsafe(16)


def with_key(url: str) -> str:
    """``url`` with a fresh key in its query."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode({PARAMETER: new_key()})}"


def key_of(request: HttpRequest) -> str | None:
    """The well-formed key of this request's URL, or None (the POST is then carried out as any other)."""
    value = request.GET.get(PARAMETER, "")
    return value if KEY_PATTERN.fullmatch(value) else None


def request_key(request: HttpRequest, scope: str) -> str | None:
    """What to claim for this POST: its scope, user, key and a digest of what it sends, or None without a
    key. The digest tells a page restored from the browser's cache and sent with other values (carried
    out) from the same POST sent again (not)."""
    key = key_of(request)
    if key is None:
        return None
    values = sorted(
        (name, value)
        for name, values in request.POST.lists()
        if name not in IGNORED_FIELDS
        for value in values
    )
    digest = hashlib.sha256(repr(values).encode()).hexdigest()[:24]
    return f"{scope}:{getattr(request.user, 'pk', '') or ''}:{key}:{digest}"


def claim(key: str, keep: timedelta = DEFAULT_KEEP) -> bool:
    """Claim ``key`` within the caller's transaction; False when it was claimed before (and committed).

    Call it inside the ``transaction.atomic`` block that does the work, so that the claim is committed
    or rolled back with it. Of two requests with one key at once, the second waits for the first and
    gets False once it commits.
    """
    try:
        with transaction.atomic():
            OnceKey.objects.create(key=_stored(key), expires_at=timezone.now() + keep)
    except IntegrityError:
        return False
    return True


def claimed(key: str) -> bool:
    """Whether ``key`` was claimed (and committed)."""
    return OnceKey.objects.filter(key=_stored(key)).exists()


def _stored(key: str) -> str:
    """``key`` as stored: a digest of it when it is longer than the column."""
    if len(key) > KEY_LENGTH:
        return hashlib.sha256(key.encode()).hexdigest()
    return key


def purge_expired(now: datetime | None = None) -> int:
    """Forget the claims past their time; returns how many."""
    deleted, _by_model = OnceKey.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
