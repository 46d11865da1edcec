"""Who is calling: a personal token in ``Authorization: Bearer``, checked before anything is read.

In order: a body over ``API_MAX_BODY_BYTES`` is refused unread (413), an unknown, revoked or expired
token is a 401, a token over its rate a 429 with ``Retry-After``. The request then runs as the token's
owner (``request.user``), so every rule of ``crm.access`` applies to it unchanged."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from . import ratelimit, tokens


class BodyTooLarge(Exception):
    pass


class RateLimited(Exception):
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        super().__init__(seconds)


def declared_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        limit = min(settings.API_MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440)
        if declared_length(request) > limit:
            raise BodyTooLarge
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = tokens.authenticate(token)
        if found is None:
            return None
        wait = ratelimit.retry_after(found.pk)
        if wait is not None:
            raise RateLimited(wait)
        request.api_token = found  # type: ignore[attr-defined]
        request.user = found.user
        return found.user
