"""The outbox table's machinery: inserting rows inside the cause's transaction, claiming due rows for a
worker, loading them, and storing their outcomes, each in as few statements as the database allows.

Rows are unique per rule, cause, recipient and channel, so a rerun of the same cause inserts nothing.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection

from crm.models import Lead, User

from . import registry as channels
from .matching import Row
from .models import AlertRule, Notification
from .registry import DeliveryError

Status = Notification.Status
BATCH = 200

_INSERTED = (
    "rule_id",
    "cause",
    "trigger",
    "recipient_id",
    "channel",
    "status",
    "next_attempt_at",
    "event_id",
    "lead_id",
    "context",
)
_CONSTANTS = {"attempts": "0", "error_code": "''", "error": "''", "needs_admin": "FALSE", "provider_id": "''"}


@cache
def _insert_sql(vendor: str, count: int, with_context: bool) -> str:
    quote = connection.ops.quote_name
    inserted = _INSERTED if with_context else _INSERTED[:-1]
    constants = _CONSTANTS if with_context else {**_CONSTANTS, "context": "'{}'"}
    columns = ", ".join(quote(name) for name in (*inserted, *constants))
    values = "(" + ", ".join(["%s"] * len(inserted) + list(constants.values())) + ")"
    return (
        f"INSERT INTO {quote(Notification._meta.db_table)} ({columns}) "  # noqa: S608 - placeholders only
        f"VALUES {', '.join([values] * count)} ON CONFLICT DO NOTHING"
    )


def insert_rows(rows: Sequence[Row]) -> int:
    """One ``INSERT ... ON CONFLICT DO NOTHING`` for the rows (split only past the driver's parameter limit);
    returns how many were new.

    Plain SQL rather than ``bulk_create``: this runs inside every lead's transaction, where the ORM's
    per-field preparation cost more than the insert itself. Lead events have no context, and
    ``created_at`` is the database's default: nine parameters a row keep a typical lead's rows within
    psycopg's cached statements.
    """
    adapt = connection.ops.adapt_datetimefield_value
    with_context = any(row.context for row in rows)
    prepare_json = Notification._meta.get_field("context").get_db_prep_save
    params: list[Any] = []
    for row in rows:
        params += (
            row.rule_id,
            row.cause,
            row.trigger,
            row.recipient_id,
            row.channel,
            row.status,
            adapt(row.next_attempt_at) if row.next_attempt_at else None,
            row.event_id,
            row.lead_id,
        )
        if with_context:
            params.append(prepare_json(row.context or {}, connection))
    width = len(_INSERTED) if with_context else len(_INSERTED) - 1
    size = min(1000, (connection.features.max_query_params or 65535) // width)
    inserted = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            count = min(size, len(rows) - start)
            cursor.execute(
                _insert_sql(connection.vendor, count, with_context),
                params[start * width : (start + count) * width],
            )
            inserted += max(cursor.rowcount, 0)
    return inserted


def claim(
    now: datetime, *, causes: Iterable[str] = (), ids: Iterable[int] = (), limit: int = BATCH
) -> list[int]:
    """Mark up to ``limit`` due rows as being sent by this worker and return their ids, in the channels'
    send order (``AlertChannel.send_order``).

    One ``UPDATE ... RETURNING``. On PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``, so
    concurrent workers take disjoint rows without waiting; SQLite runs one writer at a time, and the
    ``status`` condition makes a row claimable once either way.
    """
    adapt = connection.ops.adapt_datetimefield_value
    where = ["status = %s", "(next_attempt_at IS NULL OR next_attempt_at <= %s)"]
    params: list[Any] = [Status.PENDING, adapt(now)]
    for column, values in (("cause", list(causes)), ("id", list(ids))):
        if values:
            where.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
            params += values
    order = [channel.name for channel in channels.in_send_order()]
    ranks = " ".join(f"WHEN %s THEN {rank}" for rank in range(len(order)))
    # The picked ids are materialized once: as an ``IN (subquery ... LIMIT)`` the planner may run the
    # subquery again per row and claim more than ``limit`` rows.
    if connection.features.has_select_for_update_skip_locked:
        picked, lock = "AS MATERIALIZED", " FOR UPDATE SKIP LOCKED"
    else:
        picked, lock = "AS", ""
    table = connection.ops.quote_name(Notification._meta.db_table)
    sql = (
        f"WITH picked {picked} (SELECT id FROM {table} WHERE {' AND '.join(where)} "  # noqa: S608
        f"ORDER BY CASE channel {ranks} ELSE {len(order)} END, id LIMIT %s{lock}) "
        f"UPDATE {table} SET status = %s, claimed_at = %s "
        f"WHERE status = %s AND id IN (SELECT id FROM picked) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *order, limit, Status.SENDING, adapt(now), Status.PENDING])
        return sorted(pk for (pk,) in cursor.fetchall())


def load(ids: Iterable[int]) -> list[Notification]:
    """Claimed rows with their rule, lead and recipient; rows sharing a lead or a person share the object.

    Rows whose rule, lead or recipient was deleted meanwhile are skipped.
    """
    notifications = list(Notification.objects.filter(pk__in=ids).order_by("pk"))
    rules_by_id = AlertRule.objects.in_bulk({n.rule_id for n in notifications})
    people = User.objects.select_related("wagtail_userprofile").in_bulk(
        {n.recipient_id for n in notifications}
    )
    leads = (
        Lead.objects.select_related("brand", "status", "service", "source", "assignee")
        .defer("raw_payload", "extra")
        .in_bulk({n.lead_id for n in notifications if n.lead_id})
    )
    loaded, gone = [], []
    for notification in notifications:
        rule = rules_by_id.get(notification.rule_id)
        recipient = people.get(notification.recipient_id)
        lead = leads.get(notification.lead_id) if notification.lead_id else None
        if rule is None or recipient is None or (notification.lead_id and lead is None):
            notification.attempts += 1
            skipped(notification, "gone")
            gone.append(notification)
            continue
        notification.rule, notification.recipient, notification.lead = rule, recipient, lead
        loaded.append(notification)
    record(gone)
    return loaded


_RESULTS = ("status", "attempts", "next_attempt_at", "error_code", "error", "needs_admin", "sent_at")


def record(notifications: Iterable[Notification], size: int = 250) -> None:
    """Store the outcome of claimed rows: one UPDATE per group of rows with the same outcome.

    Only rows still ``sending`` change: a row the sweeper handed back meanwhile is not overwritten.
    """
    adapt = connection.ops.adapt_datetimefield_value
    groups: dict[tuple[Any, ...], list[Notification]] = defaultdict(list)
    for n in notifications:
        key = (
            n.status,
            n.attempts,
            adapt(n.next_attempt_at),
            n.error_code,
            n.error,
            n.needs_admin,
            adapt(n.sent_at),
        )
        groups[key].append(n)
    table = connection.ops.quote_name(Notification._meta.db_table)
    assignments = ", ".join(f"{name} = %s" for name in _RESULTS)
    with connection.cursor() as cursor:
        for values, members in groups.items():
            for start in range(0, len(members), size):
                part = members[start : start + size]
                providers = [(n.pk, n.provider_id) for n in part if n.provider_id]
                provider_sql = "''"
                params = list(values)
                if providers:
                    whens = " ".join("WHEN %s THEN %s" for _ in providers)
                    provider_sql = f"CASE id {whens} ELSE '' END"
                    params += [value for pair in providers for value in pair]
                params += [Status.SENDING, *(n.pk for n in part)]
                cursor.execute(
                    f"UPDATE {table} SET {assignments}, provider_id = {provider_sql} "  # noqa: S608
                    f"WHERE status = %s AND id IN ({', '.join(['%s'] * len(part))})",
                    params,
                )


# ---------------------------------------------------------------------------------------------
# Outcomes of a claimed row (stored by ``record``)


def skipped(notification: Notification, reason: str) -> None:
    """Skip a row; the reason is a code (``Notification.get_error_display`` shows it translated)."""
    notification.status = Status.SKIPPED
    notification.error_code = reason
    notification.error = ""


def succeeded(notification: Notification, provider_id: str, now: datetime) -> None:
    notification.status = Status.SENT
    notification.provider_id = provider_id or ""
    notification.sent_at = now
    notification.error_code = notification.error = ""
    notification.needs_admin = False
    notification.next_attempt_at = None


def failed(
    notification: Notification, error: DeliveryError, now: datetime, held_status: str = Status.PENDING
) -> None:
    """A transient error is retried later (with backoff) until ``ALERTS_MAX_ATTEMPTS``; others fail the row."""
    notification.error_code = error.code
    notification.error = error.message[:2000]
    notification.needs_admin = error.needs_admin
    if error.transient and notification.attempts < settings.ALERTS_MAX_ATTEMPTS:
        notification.status = held_status
        notification.next_attempt_at = now + backoff(notification.attempts)
    else:
        notification.status = Status.FAILED
        notification.next_attempt_at = None


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.ALERTS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
