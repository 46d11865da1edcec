"""RQ jobs of the WordPress sync: one source's sync, one webhook delivery, and the periodic tick.

Other modules enqueue these by dotted name (``"wordpress.jobs.sync_source_job"``).
"""

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from core.jobs import enqueue

from .models import SyncRun, WordPressSource
from .sync import sync_source
from .webhooks import process_pending, sweep_deliveries

logger = logging.getLogger(__name__)


def sync_source_job(
    source_id: int, full: bool = False, trigger: str = SyncRun.Trigger.SCHEDULE
) -> int | None:
    source = WordPressSource.objects.filter(pk=source_id, enabled=True).first()
    if source is None:
        return None
    return sync_source(source, full=full, trigger=trigger).pk


def process_delivery_job(delivery_id: int) -> list[int]:
    """Read the delivery, and with it the bodies of its source still waiting; returns the ids read."""
    return [delivery.pk for delivery in process_pending(delivery_id)]


def dispatch_due_syncs(now: datetime | None = None) -> list[int]:
    """Enqueue a sync for every enabled source whose interval has passed (not when the site refused access)."""
    now = now or timezone.now()
    due = WordPressSource.objects.filter(enabled=True).exclude(health__in=WordPressSource.REFUSED_HEALTH)
    due = due.filter(Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now))
    enqueued = []
    for source in due:
        next_at = now + timedelta(minutes=max(1, source.interval_minutes))
        claimed = WordPressSource.objects.filter(pk=source.pk, next_sync_at=source.next_sync_at).update(
            next_sync_at=next_at
        )
        if claimed:
            enqueue("wordpress.jobs.sync_source_job", source.pk, queue="default")
            enqueued.append(source.pk)
    return enqueued


def periodic_tick() -> dict[str, object]:
    """Every minute: start due syncs, then process webhook bodies whose job never ran."""
    enqueued = dispatch_due_syncs()
    swept = sweep_deliveries()
    return {"enqueued": enqueued, "swept": swept}
