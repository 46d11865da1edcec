"""Requests per token per minute, counted in Django's cache (Redis in production): a fixed window per
token, so the count survives across processes and the answer says when the window ends."""

import time

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


def retry_after(token_id: int, now: float | None = None) -> int | None:
    """Count one request of ``token_id``; None while within ``API_RATE_PER_MINUTE``, else the seconds
    until its window ends."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"api:rate:{token_id}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS + 1)
        count = 1
    if count <= settings.API_RATE_PER_MINUTE:
        return None
    return max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
