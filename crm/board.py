"""The lead board: a column per open pipeline status, its count and its newest cards; the closed statuses
as drop targets with their counts.

Read in a fixed number of queries whatever the number of leads: the statuses, one query for every
status's count (each count stops at ``COUNT_CAP``, so it reads at most that many index entries), one for
the ids of every open column's first cards (each column's newest, by the listing's order) and one for
those cards with what they show. A column's next cards are read after a cursor (the last card's
submission time and id), never by offset.

Badges a feature app puts on cards (the dashboards' SLA and stale rules) come through the Wagtail hook
``CARD_FLAGS_HOOK``: each function registered there gets the time and returns ``CardFlag``s, whose
conditions are evaluated in the cards' query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import timezone
from django_stubs_ext import StrOrPromise
from wagtail import hooks

from . import lead_fields
from .access import may_move_status
from .models import Lead, PipelineStatus, User

COLUMN_CARDS = 20
"""Cards a column shows at first, and how many more each "load more" brings."""

COUNT_CAP = 500
"""A column counts its leads up to this many; beyond it shows "500+"."""

CARD_FLAGS_HOOK = "crm_lead_card_flags"
"""Wagtail hook: ``fn(now) -> Iterable[CardFlag]``, the badges a card may carry."""

CARD_RELATED = ("status", "service", "assignee")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CardFlag:
    """A badge on the cards of the leads that meet ``condition`` (``level``: "critical" or "warning")."""

    name: str
    label: StrOrPromise
    condition: Q
    description: StrOrPromise = ""
    level: str = "warning"


@dataclass
class Column:
    """A status on the board: its leads counted up to ``COUNT_CAP`` and, for open statuses, its first cards."""

    status: PipelineStatus
    count: int
    capped: bool
    cards: list[Lead] = field(default_factory=list)

    @property
    def has_more(self) -> bool:
        return self.capped or self.count > len(self.cards)

    @property
    def cursor(self) -> str:
        return cursor_of(self.cards[-1]) if self.cards else ""


@dataclass
class Board:
    statuses: list[PipelineStatus]
    """Every status, in pipeline order."""
    columns: list[Column]
    """The open statuses (stages new and open), in pipeline order."""
    closed: list[Column]
    """The won, lost and junk statuses, as drop targets without cards."""
    flags: list[CardFlag]


def read_board(
    leads: QuerySet[Lead],
    *,
    per_column: int = COLUMN_CARDS,
    now: datetime | None = None,
    statuses: Sequence[PipelineStatus] | None = None,
) -> Board:
    """The board of ``leads`` (already narrowed to what the person may see and to the filters); ``statuses``:
    every status in pipeline order, when the caller has read them already."""
    now = now or timezone.now()
    statuses = list(PipelineStatus.objects.all() if statuses is None else statuses)
    counts = capped_counts(leads, [status.pk for status in statuses])
    open_statuses = [status for status in statuses if not status.is_closed]
    flags = card_flags(now)
    cards = load_cards(first_ids(leads, [status.pk for status in open_statuses], per_column), flags, now)
    by_status: dict[int, list[Lead]] = {}
    for card in cards:
        by_status.setdefault(card.status_id, []).append(card)

    def column(status: PipelineStatus) -> Column:
        count = counts.get(status.pk, 0)
        return Column(status, min(count, COUNT_CAP), count > COUNT_CAP, by_status.get(status.pk, []))

    return Board(
        statuses=statuses,
        columns=[column(status) for status in open_statuses],
        closed=[column(status) for status in statuses if status.is_closed],
        flags=flags,
    )


def column_page(
    leads: QuerySet[Lead], status: PipelineStatus, after: str, *, per_column: int = COLUMN_CARDS
) -> tuple[list[Lead], bool]:
    """The cards of ``status`` after the cursor ``after`` (see ``cursor_of``), and whether more follow.

    Raises ``ValueError`` for a cursor that is not one.
    """
    submitted_at, pk = parse_cursor(after)
    following = leads.filter(status_id=status.pk).filter(
        Q(submitted_at__lt=submitted_at) | Q(submitted_at=submitted_at, pk__lt=pk)
    )
    ids = list(following.order_by("-submitted_at", "-pk").values_list("pk", flat=True)[: per_column + 1])
    now = timezone.now()
    return load_cards(ids[:per_column], card_flags(now), now), len(ids) > per_column


def card(lead_id: int) -> Lead:
    """One lead read as a card (after a move)."""
    return load_cards([lead_id], card_flags(timezone.now()))[0]


def capped_counts(leads: QuerySet[Lead], status_ids: Sequence[int], cap: int = COUNT_CAP) -> dict[int, int]:
    """Per status, how many of ``leads`` it holds, counting no further than ``cap + 1``; one query.

    Each status is counted in its own branch of a ``UNION ALL``, over a subquery that stops after
    ``cap + 1`` rows, so a status with a million leads costs what one with ``cap`` does.
    """
    parts: list[str] = []
    params: list[Any] = []
    for status_id in status_ids:
        capped = leads.filter(status_id=status_id).order_by().values("pk")[: cap + 1]
        try:
            sql, part_params = capped.query.sql_with_params()
        except EmptyResultSet:  # a filter that matches nothing, e.g. ``none()``
            continue
        parts.append(f"SELECT %s, COUNT(*) FROM ({sql}) capped")  # noqa: S608 - Django's own SQL and params
        params += [status_id, *part_params]
    if not parts:
        return {}
    with connections[leads.db].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {int(status_id): int(count) for status_id, count in cursor.fetchall()}


def first_ids(leads: QuerySet[Lead], status_ids: Sequence[int], per_column: int) -> list[int]:
    """The ids of the newest ``per_column`` leads of each status, in one query (a ``UNION ALL`` of one
    limited subquery per status, each read from the status's index)."""
    parts: list[str] = []
    params: list[Any] = []
    for status_id in status_ids:
        newest = leads.filter(status_id=status_id).order_by("-submitted_at", "-pk").values("pk")[:per_column]
        try:
            sql, part_params = newest.query.sql_with_params()
        except EmptyResultSet:
            continue
        parts.append(f"SELECT * FROM ({sql}) newest")  # noqa: S608 - Django's own SQL and params
        params += part_params
    if not parts:
        return []
    with connections[leads.db].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [int(row[0]) for row in cursor.fetchall()]


def load_cards(ids: Sequence[int], flags: Iterable[CardFlag] = (), now: datetime | None = None) -> list[Lead]:
    """The leads ``ids`` with what a card shows, in the order of ``ids``.

    Each card gets ``board_flags`` (the ``flags`` whose condition it meets, evaluated in the query) and
    ``next_action_overdue`` (its next follow-up is due before ``now``).
    """
    if not ids:
        return []
    now = now or timezone.now()
    flags = list(flags)
    annotations = {
        f"flag_{flag.name}": Case(
            When(flag.condition, then=Value(True)), default=Value(False), output_field=BooleanField()
        )
        for flag in flags
    }
    rows = (
        Lead.objects.filter(pk__in=ids)
        .select_related(*CARD_RELATED)
        .defer(*lead_fields.listing_deferred())
        .annotate(**annotations)
    )
    by_pk = {lead.pk: lead for lead in rows}
    cards = [by_pk[pk] for pk in ids if pk in by_pk]
    for lead in cards:
        lead.board_flags = [flag for flag in flags if getattr(lead, f"flag_{flag.name}", False)]  # type: ignore[attr-defined]
        lead.next_action_overdue = lead.next_action_at is not None and lead.next_action_at < now  # type: ignore[attr-defined]
    return cards


def card_flags(now: datetime) -> list[CardFlag]:
    """The badges the registered ``CARD_FLAGS_HOOK`` functions put on cards at ``now``."""
    return [flag for make in hooks.get_hooks(CARD_FLAGS_HOOK) for flag in make(now)]


def moves_open_to(user: User, statuses: Iterable[PipelineStatus]) -> dict[int, list[PipelineStatus]]:
    """For each status a card can be in, the statuses ``user`` may move it to (the rule of
    ``crm.access.check_status_move``), in pipeline order; worked out once per status, not per card."""
    statuses = list(statuses)
    return {
        current.pk: [
            status
            for status in statuses
            if status.pk != current.pk and may_move_status(user, current, status)
        ]
        for current in statuses
    }


def cursor_of(lead: Lead) -> str:
    """Where a column continues after ``lead``: its submission time (microseconds) and id."""
    delta = lead.submitted_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}-{lead.pk}"


def parse_cursor(text: str) -> tuple[datetime, int]:
    """The time and id of a cursor made by ``cursor_of``; ``ValueError`` if it is not one."""
    micros, _sep, pk = (text or "").partition("-")
    if not (micros.isdigit() and pk.isdigit()) or len(micros) > 18 or len(pk) > 18:
        raise ValueError("not a board cursor")
    try:
        return _EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except OverflowError as error:
        raise ValueError("not a board cursor") from error
