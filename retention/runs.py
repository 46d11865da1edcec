"""Retention runs: the dry-run report (due rows per table) and the run that changes exactly those rows.

A run works table by table in id windows (``WINDOW`` ids per UPDATE, each in its own transaction), so a
million leads take a few hundred statements and no row is loaded into Python but for the leads it
anonymises (their ids, for their events). Every run is logged in ``RetentionRun`` with its counts.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django_stubs_ext import StrOrPromise

from crm.events import Actor
from crm.models import User

from .models import RetentionRun, RetentionSettings
from .policy import TARGETS, Target
from .services import anonymise_leads

WINDOW = 10_000
"""Ids per UPDATE statement."""

STALE_RUN = timedelta(hours=6)
"""A run still marked running after this long is taken for dead: another may start."""


@dataclass(frozen=True)
class Line:
    """One table of the report: its key and label, and how many rows are due (None: the settings leave
    it alone)."""

    key: str
    label: StrOrPromise
    due: int | None


def report(settings: RetentionSettings | None = None, now: datetime | None = None) -> list[Line]:
    """What a run would do now: the due rows of each table (one COUNT per table the settings reach)."""
    settings = settings or RetentionSettings.load()
    now = now or timezone.now()
    lines = []
    for target in TARGETS:
        condition = target.due(settings, now)
        count = None if condition is None else target.model._default_manager.filter(condition).count()
        lines.append(Line(target.key, target.label, count))
    return lines


def periods(settings: RetentionSettings) -> dict[str, int | None]:
    return {
        "junk_months": settings.junk_months,
        "lost_months": settings.lost_months,
        "payload_days": settings.payload_days,
    }


def running() -> RetentionRun | None:
    """A run under way (started less than ``STALE_RUN`` ago), if any."""
    since = timezone.now() - STALE_RUN
    return RetentionRun.objects.filter(status=RetentionRun.Status.RUNNING, started_at__gte=since).first()


def run(
    trigger: str = RetentionRun.Trigger.SCHEDULE,
    actor: Actor = None,
    now: datetime | None = None,
    window: int = WINDOW,
) -> RetentionRun | None:
    """Apply the retention settings as of ``now``; returns the logged run, or None when one is under way."""
    settings = RetentionSettings.load()
    now = now or timezone.now()
    with transaction.atomic():
        if running() is not None:
            return None
        log = RetentionRun.objects.create(
            trigger=trigger,
            actor=actor if isinstance(actor, User) else None,
            started_at=now,
            settings=periods(settings),
        )
    try:
        for target in TARGETS:
            condition = target.due(settings, now)
            if condition is not None:
                log.counts[target.key] = _apply(target, condition, actor, window)
                log.save(update_fields=["counts"])
    except Exception as error:
        log.status, log.error, log.finished_at = RetentionRun.Status.FAILED, str(error)[:2000], timezone.now()
        log.save(update_fields=["status", "error", "finished_at"])
        raise
    log.status, log.finished_at = RetentionRun.Status.SUCCEEDED, timezone.now()
    log.save(update_fields=["status", "finished_at"])
    return log


def _apply(target: Target, condition: models.Q, actor: Actor, window: int) -> int:
    """Change the due rows of one table, ``window`` ids at a time; returns how many changed."""
    due = target.model._default_manager.filter(condition)
    bounds = due.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return 0
    changed = 0
    for start in range(bounds["low"], bounds["high"] + 1, window):
        rows = due.filter(pk__gte=start, pk__lt=start + window)
        if isinstance(target.values, dict):
            with transaction.atomic():
                changed += rows.update(**target.values)
        else:
            ids = list(rows.values_list("pk", flat=True))
            changed += anonymise_leads(ids, actor, f"retention:{target.key}") if ids else 0
    return changed
