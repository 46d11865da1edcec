"""Waking a worker to deliver: after the cause's commit, from a background thread, at most one waiting
job at a time (a Redis flag), and the sweeper for whatever a lost wake-up or job left behind."""

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.jobs import connection as redis_connection
from core.jobs import get_queue, is_embedded

from .models import Notification
from .outbox import BATCH

logger = logging.getLogger(__name__)
DELIVER_JOB = "alerts.jobs.deliver"
WAKE_KEY = "alerts:delivery-wanted"

_pending = threading.local()


def deliver_after_commit(causes: Iterable[str]) -> None:
    """Enqueue delivery once the transaction commits: the first callback to run takes every pending cause."""
    pending = getattr(_pending, "causes", None)
    if pending is None:
        pending = _pending.causes = set()
    pending.update(causes)
    transaction.on_commit(_enqueue_pending)


def deliver_drains_after_commit(count: int) -> None:
    """For a periodic job that inserts many rows at once (follow-up reminders): once the transaction
    commits, enough drain jobs for ``count`` rows (each drains ``ALERTS_DRAIN_BATCHES`` batches), so a
    burst does not wait for the sweeper. Workers that run them together claim disjoint rows."""
    per_job = BATCH * max(1, settings.ALERTS_DRAIN_BATCHES)
    jobs = -(-count // per_job)

    def enqueue() -> None:
        for _ in range(jobs):
            if not enqueue_delivery():
                break

    transaction.on_commit(enqueue)


def _enqueue_pending() -> None:
    causes = sorted(getattr(_pending, "causes", None) or ())
    _pending.causes = set()
    if not causes:
        return
    if settings.ALERTS_BACKGROUND_WAKE and not is_embedded():
        waker.submit(causes)
    else:
        wake_worker(causes)


class Waker:
    """Wakes the worker from a background thread, so a lead's commit does not wait for Redis.

    If the process dies before the thread runs, the rows are pending and the sweeper sends them.
    After each wake-up the thread pauses ``PAUSE`` seconds: commits meanwhile share the next one (every
    commit is still followed by a wake-up), so back-to-back leads do not each pay a Redis call.
    """

    PAUSE = 0.02

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: queue.Queue[list[str]] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.pid: int | None = None

    def submit(self, causes: list[str]) -> None:
        with self.lock:
            if self.thread is None or self.pid != os.getpid() or not self.thread.is_alive():
                self.queue = queue.Queue()
                self.pid = os.getpid()
                self.thread = threading.Thread(target=self._run, args=(self.queue,), daemon=True)
                self.thread.start()
            self.queue.put(causes)

    def flush(self) -> None:
        """Wait until every submitted wake-up was handled (tests)."""
        with self.lock:
            pending = self.queue if self.thread is not None else None
        if pending is not None:
            pending.join()

    @staticmethod
    def _run(work: "queue.Queue[list[str]]") -> None:
        while True:
            causes = set(work.get())
            taken = 1
            while True:
                try:
                    causes.update(work.get_nowait())
                    taken += 1
                except queue.Empty:
                    break
            try:
                wake_worker(sorted(causes))
            except Exception:  # noqa: BLE001 - never let the thread die; the sweeper covers the rows
                logger.exception("Alert wake-up failed; the sweeper will retry.")
            finally:
                for _ in range(taken):
                    work.task_done()
            time.sleep(Waker.PAUSE)


waker = Waker()


def wake_worker(causes: list[str]) -> bool:
    """Enqueue a delivery job unless one is already waiting: that job drains these rows too.

    The job clears the flag before it claims rows, so rows committed before the flag was cleared
    are claimed by it, and rows committed after it enqueue a new job.
    """
    if settings.ALERTS_DRAIN_BATCHES:
        try:
            if not _flag_connection().set(WAKE_KEY, 1, nx=True, ex=settings.ALERTS_WAKE_SECONDS):
                return True
        except Exception:  # noqa: BLE001 - Redis down: rows stay pending and the sweeper retries
            logger.warning(
                "Could not reach the queue for alert delivery; the sweeper will retry.", exc_info=True
            )
            return False
    return enqueue_delivery(causes=causes)


_flag_connections: dict[str, Any] = {}


def _flag_connection() -> Any:
    """A Redis client kept per queue URL: a new client per lead would open a new TCP connection."""
    if is_embedded():
        return redis_connection(settings.ALERTS_QUEUE)
    url = str(settings.RQ_QUEUES[settings.ALERTS_QUEUE]["URL"])
    client = _flag_connections.get(url)
    if client is None:
        client = _flag_connections[url] = redis_connection(settings.ALERTS_QUEUE)
    return client


def clear_wake_flag() -> None:
    try:
        _flag_connection().delete(WAKE_KEY)
    except Exception:  # noqa: BLE001
        logger.warning("Could not clear the alert delivery flag.", exc_info=True)


def enqueue_delivery(causes: Iterable[str] = (), ids: Iterable[int] = ()) -> bool:
    """Ask a worker to deliver now; when the queue is unreachable the rows wait for the sweeper.

    Callers are outside any transaction (after commit, or the sweeper), so the job is pushed at once.
    """
    job_queue = get_queue(settings.ALERTS_QUEUE)
    push = getattr(job_queue, "original_enqueue_call", job_queue.enqueue_call)
    try:
        push(DELIVER_JOB, args=(list(causes), list(ids)))
    except Exception:  # noqa: BLE001 - Redis down: rows stay pending and the sweeper retries
        logger.warning("Could not enqueue alert delivery; the sweeper will retry.", exc_info=True)
        return False
    return True


def sweep(now: datetime | None = None) -> int:
    """Re-enqueue rows a lost job left behind: due pending rows and rows stuck in ``sending``."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.ALERTS_STUCK_AFTER_SECONDS)
    Notification.objects.filter(status=Notification.Status.SENDING, claimed_at__lt=stuck_before).update(
        status=Notification.Status.PENDING, next_attempt_at=now
    )
    fresh = now - timedelta(seconds=30)
    ids = list(
        Notification.objects.due(now)
        .filter(Q(created_at__lte=fresh) | Q(next_attempt_at__isnull=False))
        .order_by("pk")
        .values_list("pk", flat=True)[:5000]
    )
    for start in range(0, len(ids), BATCH):
        if not enqueue_delivery(ids=ids[start : start + BATCH]):
            break
    return len(ids)
