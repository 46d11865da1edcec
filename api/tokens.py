"""Personal API tokens: issued once, kept as a SHA-256 digest, checked on every request, revocable."""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from crm.models import User

from .models import ApiToken

TOKEN_PREFIX = "ilm_"  # noqa: S105 - a public format prefix, not a credential
SECRET_BYTES = 32
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
MAX_TOKEN_LENGTH = 200
LAST_USED_PRECISION = datetime.timedelta(seconds=60)
"""``last_used_at`` is written at most this often per token, so reading the API costs no write per page."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``, valid ``days`` (default ``API_TOKEN_DAYS``): the record and the token
    itself, which is never stored and cannot be shown again."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=plaintext[:SHOWN_PREFIX_LENGTH],
        digest=digest(plaintext),
        created_at=now,
        expires_at=now + datetime.timedelta(days=days or settings.API_TOKEN_DAYS),
    )
    return token, plaintext


def authenticate(plaintext: str) -> ApiToken | None:
    """The live token ``plaintext`` names, with its owner, or None (unknown, revoked, expired, or an
    owner no longer active). Notes when it was used, at most once a minute."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > MAX_TOKEN_LENGTH:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest(plaintext)).first()
    now = timezone.now()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def revoke(user: User, token_id: int) -> bool:
    """Revoke one of ``user``'s own tokens; False when they hold no such live token."""
    return bool(
        tokens_of(user).filter(pk=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )
