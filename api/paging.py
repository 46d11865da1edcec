"""Keyset paging for extraction: an opaque cursor, signed so a client cannot forge a position, over
``(updated_at, id)`` for leads and ``id`` for events (which never change). Never offsets: rows changed
between two pages move behind the cursor, so none is skipped and an unchanged row is never served twice."""

import datetime
from dataclasses import dataclass

from django.core import signing
from django.db.models import Q

SALT = "api.cursor"


class CursorError(ValueError):
    """The cursor was not made by this server for this listing (tampered, truncated, another listing)."""


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last row's id and, for leads, its ``updated_at``."""

    id: int
    updated_at: datetime.datetime | None = None


def encode(listing: str, position: Position) -> str:
    moment = position.updated_at.isoformat() if position.updated_at is not None else ""
    return signing.dumps([listing, moment, position.id], salt=SALT)


def decode(listing: str, cursor: str) -> Position:
    """The position ``cursor`` names for ``listing``; ``CursorError`` for anything else."""
    try:
        payload = signing.loads(cursor, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise CursorError("bad signature") from error
    if not (isinstance(payload, list) and len(payload) == 3 and payload[0] == listing):
        raise CursorError("another listing")
    _listing, moment, row_id = payload
    if not isinstance(row_id, int) or not isinstance(moment, str):
        raise CursorError("bad payload")
    try:
        updated_at = datetime.datetime.fromisoformat(moment) if moment else None
    except ValueError as error:
        raise CursorError("bad time") from error
    return Position(row_id, updated_at)


def after_updated(position: Position) -> Q:
    """Rows after ``position`` in ``(updated_at, id)`` order, with a plain lower bound on ``updated_at``
    so the database walks the index from there instead of from the start."""
    moment = position.updated_at
    return Q(updated_at__gte=moment) & (Q(updated_at__gt=moment) | Q(id__gt=position.id))
