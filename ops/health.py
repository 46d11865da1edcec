"""Liveness and readiness checks for proxies, supervisors and monitoring.

Each check is cheap (a handful of indexed counts, a Redis round trip or two), reports counts and states
only (no personal data) and never raises: a check that cannot run says why in its ``error`` code.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Q
from django.utils import timezone
from redis import Redis
from redis.exceptions import RedisError
from rq import cron_scheduler_registry, worker_registration

from alerts.models import Notification
from conversations.models import WebhookDelivery as WhatsAppWebhook
from webhooks.models import Delivery
from wordpress.models import WebhookDelivery as WordPressWebhook
from wordpress.models import WordPressSource

OK, FAIL, SKIPPED = "ok", "fail", "skipped"
EMBEDDED = "embedded"
MIGRATIONS_RECHECK_SECONDS = 10


@dataclass
class Check:
    """One check's outcome: ``status`` is ``ok``, ``fail`` or ``skipped`` (what it needs is down)."""

    status: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, **self.detail}


def _error(exc: BaseException) -> str:
    return type(exc).__name__


def database() -> Check:
    """The database answers ``SELECT 1``."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check(FAIL, {"error": _error(exc)})
    return Check(OK, {"vendor": connection.vendor})


class _MigrationsState:
    """Whether every migration on disk is applied. Once true it stays true for the life of the process
    (new migrations come with new code, hence a restart); otherwise it is looked at again after
    ``MIGRATIONS_RECHECK_SECONDS``, so a probe every second does not load the migration graph every second."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: int | None = None
        self.checked_at = 0.0

    def reset(self) -> None:
        with self.lock:
            self.pending, self.checked_at = None, 0.0

    def pending_count(self) -> int:
        with self.lock:
            fresh = time.monotonic() - self.checked_at < MIGRATIONS_RECHECK_SECONDS
            if self.pending == 0 or (self.pending is not None and fresh):
                return self.pending
            executor = MigrationExecutor(connection)
            self.pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
            self.checked_at = time.monotonic()
            return self.pending


migrations_state = _MigrationsState()


def migrations() -> Check:
    """Every migration on disk is applied to the database."""
    try:
        pending = migrations_state.pending_count()
    except DatabaseError as exc:
        return Check(FAIL, {"error": _error(exc)})
    return Check(OK if pending == 0 else FAIL, {"pending": pending})


@cache
def _redis_client(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_connection() -> Redis | None:
    """A client for ``REDIS_URL`` with short timeouts (None in the embedded mode)."""
    return _redis_client(settings.REDIS_URL) if settings.REDIS_URL else None


def redis(conn: Redis | None) -> Check:
    """Redis answers ``PING``."""
    if conn is None:
        return Check(OK, {"mode": EMBEDDED})
    try:
        conn.ping()
    except RedisError as exc:
        return Check(FAIL, {"error": _error(exc)})
    return Check(OK)


def workers(conn: Redis | None) -> Check:
    """Every job queue is served by at least one live RQ worker (its key still beats in Redis)."""
    if conn is None:
        return Check(OK, {"mode": EMBEDDED})
    queues = list(settings.JOB_QUEUES)
    try:
        with conn.pipeline(transaction=False) as pipe:
            for name in queues:
                pipe.smembers(worker_registration.WORKERS_BY_QUEUE_KEY % name)
            members = [{key.decode() for key in keys} for keys in pipe.execute()]
        registered = sorted(set().union(*members))
        with conn.pipeline(transaction=False) as pipe:
            for key in registered:
                pipe.exists(key)
            alive = {key for key, exists in zip(registered, pipe.execute(), strict=True) if exists}
    except RedisError as exc:
        return Check(FAIL, {"error": _error(exc)})
    per_queue = {name: len(keys & alive) for name, keys in zip(queues, members, strict=True)}
    unserved = [name for name, count in per_queue.items() if count == 0]
    return Check(FAIL if unserved else OK, {"alive": len(alive), "queues": per_queue})


def scheduler(conn: Redis | None, stale_seconds: int | None = None) -> Check:
    """A cron scheduler (``manage.py rqcron``) beat within ``HEALTH_SCHEDULER_STALE_SECONDS``."""
    if conn is None:
        return Check(OK, {"mode": EMBEDDED})
    stale = stale_seconds if stale_seconds is not None else settings.HEALTH_SCHEDULER_STALE_SECONDS
    try:
        raw: Any = conn.zrange(cron_scheduler_registry.get_registry_key(), 0, -1, withscores=True)
    except RedisError as exc:
        return Check(FAIL, {"error": _error(exc)})
    scores = [float(score) for _name, score in raw]
    if not scores:
        return Check(FAIL, {"alive": 0})
    now = time.time()
    age = max(0, round(now - max(scores)))
    alive = sum(1 for score in scores if now - score <= stale)
    return Check(OK if alive else FAIL, {"alive": alive, "last_beat_seconds_ago": age})


def wordpress() -> Check:
    """No enabled WordPress source is failing (or refused: credentials invalid, user lacks the rights)."""
    failing_states = [
        WordPressSource.Health.FAILING,
        WordPressSource.Health.CREDENTIALS_INVALID,
        WordPressSource.Health.LACKS_RIGHTS,
    ]
    try:
        counts = WordPressSource.objects.filter(enabled=True).aggregate(
            sources=Count("pk"), failing=Count("pk", filter=Q(health__in=failing_states))
        )
    except DatabaseError as exc:
        return Check(FAIL, {"error": _error(exc)})
    return Check(FAIL if counts["failing"] else OK, counts)


def outbox(minutes: int | None = None) -> Check:
    """Nothing waits longer than ``HEALTH_BACKLOG_MINUTES``: alerts due and not sent, WordPress and
    WhatsApp webhook bodies kept and not read, outbound webhook deliveries due and not sent to an active
    subscription (each count uses a partial or state index)."""
    cutoff = timezone.now() - timedelta(
        minutes=minutes if minutes is not None else settings.HEALTH_BACKLOG_MINUTES
    )
    try:
        counts = {
            "alerts": Notification.objects.filter(status=Notification.Status.PENDING)
            .filter(Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, created_at__lt=cutoff))
            .count(),
            "wordpress_webhooks": WordPressWebhook.objects.filter(
                state=WordPressWebhook.State.PENDING, received_at__lt=cutoff
            ).count(),
            "whatsapp_webhooks": WhatsAppWebhook.objects.filter(
                state=WhatsAppWebhook.State.PENDING, received_at__lt=cutoff
            ).count(),
            "outbound_webhooks": Delivery.objects.filter(
                status=Delivery.Status.PENDING,
                subscription__is_active=True,
                subscription__paused_at__isnull=True,
            )
            .filter(Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, created_at__lt=cutoff))
            .count(),
        }
    except DatabaseError as exc:
        return Check(FAIL, {"error": _error(exc)})
    return Check(FAIL if any(counts.values()) else OK, {"older_than_minutes_waiting": counts})


def readiness() -> tuple[bool, dict[str, Check]]:
    """Every check; ready unless one fails that ``READYZ_IGNORE`` does not name. Checks that need the
    database or Redis are skipped while it is down (the down one fails)."""
    checks: dict[str, Check] = {"database": database()}
    db_up = not checks["database"].failed
    for name, run in (("migrations", migrations), ("wordpress", wordpress), ("outbox", outbox)):
        checks[name] = run() if db_up else Check(SKIPPED)
    conn = redis_connection()
    checks["redis"] = redis(conn)
    redis_up = not checks["redis"].failed
    checks["workers"] = workers(conn) if redis_up else Check(SKIPPED)
    checks["scheduler"] = scheduler(conn) if redis_up else Check(SKIPPED)
    ignored = set(settings.READYZ_IGNORE)
    ready = not any(check.failed for name, check in checks.items() if name not in ignored)
    return ready, checks
