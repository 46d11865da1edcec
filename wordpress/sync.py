"""The sync run: each form of a source pulled page by page (``store.store_page``), then re-scanned,
under the source's lease, with the run's record kept up to date."""

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.allocation import fewer_collections
from core.parallel import HelperDied, can_fork, read_ahead, shared_with_helpers
from crm import intake
from crm.signals import integration_failed

from .client import CredentialsError, RightsError, SyncError
from .conf import setting
from .connectors import Connector, connector_for
from .locks import acquire_lock, release_lock, renew_lock
from .mapping import FormContext
from .models import SourceForm, SyncRun, WordPressSource
from .rescan import rescan
from .statistics import GrowthStatistics
from .store import fingerprint_page, map_page, store_page

logger = logging.getLogger(__name__)
COUNT_KEYS = ("fetched", "created", "updated", "duplicates", "quarantined")
# Classification and assignment rules edited while a form syncs apply to its pages within this many seconds.
RULES_MAX_AGE = 10
# A form's counts reach its run record at least this often while it syncs (and when it ends).
PROGRESS_SECONDS = 2

BetweenPages = Callable[[SourceForm, Counter[str]], Any]
Outcome = tuple[SourceForm, Counter[str], SyncError | None]


def sync_source(
    source: WordPressSource,
    full: bool = False,
    trigger: str = SyncRun.Trigger.SCHEDULE,
    between_pages: BetweenPages | None = None,
) -> SyncRun:
    """Sync every form of ``source``; returns the SyncRun (status succeeded, failed or skipped)."""
    owner = acquire_lock(source)
    if owner is None:
        return SyncRun.objects.create(
            source=source,
            trigger=trigger,
            full=full,
            status=SyncRun.Status.SKIPPED,
            finished_at=timezone.now(),
            error=_("Another sync of this source is running."),
        )
    run = SyncRun.objects.create(source=source, trigger=trigger, full=full)
    errors = []
    try:
        forms = list(source.forms.select_related("brand", "default_service").order_by("form_id"))
        for form, counts, error in _synced_forms(source, forms, full, owner, between_pages):
            if isinstance(error, CredentialsError):
                refused = (
                    _("user lacks the rights") if isinstance(error, RightsError) else _("credentials refused")
                )
                _save_counts(run, form, counts, refused)
                raise error
            if error is not None:
                errors.append(f"{form.form_id}: {error}")
            _save_counts(run, form, counts, "" if error is None else str(error))
    except CredentialsError as error:
        _finish(run, source, [str(error)], refused=error)
        return run
    except Exception as error:
        _finish(run, source, [f"{type(error).__name__}: {error}"])
        raise
    finally:
        release_lock(source, owner)
    _finish(run, source, errors)
    return run


def sync_processes(forms: int) -> int:
    """How many processes sync a source of ``forms`` forms: ``WORDPRESS_SYNC_PROCESSES``, else one per usable CPU."""
    return min(forms, setting("WORDPRESS_SYNC_PROCESSES") or len(os.sched_getaffinity(0)))


def _synced_forms(
    source: WordPressSource,
    forms: list[SourceForm],
    full: bool,
    owner: str,
    between_pages: BetweenPages | None,
) -> Iterator[Outcome]:
    """Sync each form; yields ``(form, counts, SyncError or None)`` as each form ends.

    Where forked helpers may share the work (``core.parallel.can_fork``: PostgreSQL, an RQ job or a
    command), up to ``WORDPRESS_SYNC_PROCESSES`` forms (default: one per core) are synced at once: this
    process and forked helpers each claim the next form, each form in one process with its pages in
    order. Elsewhere, and with a ``between_pages`` callback, one after the other here.
    """
    processes = sync_processes(len(forms))
    if processes > 1 and can_fork() and between_pages is None:
        yield from _synced_in_processes(source, forms, full, owner, processes - 1)
        return
    connector = connector_for(source)
    for form in forms:
        yield _sync_one(source, form, connector, full, owner, between_pages)


def _synced_in_processes(
    source: WordPressSource, forms: list[SourceForm], full: bool, owner: str, helpers: int
) -> Iterator[Outcome]:
    """``_synced_forms`` shared between this process and ``helpers`` forked ones
    (``core.parallel.shared_with_helpers``). Refused credentials stop further claims; a helper that dies
    unexpectedly fails the run."""

    def start_worker() -> Callable[[int], tuple[Counter[str], SyncError | None]]:
        connector = connector_for(source)

        def sync(index: int) -> tuple[Counter[str], SyncError | None]:
            _form, counts, error = _sync_one(source, forms[index], connector, full, owner)
            return counts, error

        return sync

    outcomes = shared_with_helpers(
        len(forms),
        start_worker,
        helpers,
        stops_claims=lambda outcome: isinstance(outcome[1], CredentialsError),
    )
    try:
        with closing(outcomes):
            for index, (counts, error) in outcomes:
                yield forms[index], counts, error
    except HelperDied as died:
        raise SyncError(_("A sync worker process ended before finishing its forms.")) from died


def _sync_one(
    source: WordPressSource,
    form: SourceForm,
    connector: Connector,
    full: bool,
    owner: str,
    between_pages: BetweenPages | None = None,
) -> Outcome:
    counts = Counter(dict.fromkeys(COUNT_KEYS, 0))
    try:
        with fewer_collections():
            _sync_form(source, form, connector, counts, full, owner, between_pages)
    except SyncError as error:
        return form, counts, error
    return form, counts, None


def _sync_form(
    source: WordPressSource,
    form: SourceForm,
    connector: Connector,
    counts: Counter[str],
    full: bool,
    owner: str,
    between_pages: BetweenPages | None,
) -> None:
    """Pull the form's new pages (all of them when ``full``) and map and store each, the next one fetched
    (and fingerprinted) meanwhile in a thread; then re-scan it.

    Mapping here rather than in the fetching thread lets the next request go out as soon as a page has
    arrived: paging by keyset waits for each page, so the reading keeps the site's pace.
    """
    start = 0 if full else SourceForm.objects.values_list("cursor", flat=True).get(pk=form.pk)
    context = FormContext(
        source, SourceForm.objects.select_related("brand", "default_service").get(pk=form.pk)
    )
    cursor = context.form.cursor
    pages = read_ahead(connector.fetch_new(form.form_id, start), fingerprint_page, name="wordpress-fetch")
    renewed = time.monotonic()
    statistics = GrowthStatistics(source, form)
    lookups = intake.NewLeadLookups(max_age=RULES_MAX_AGE)
    progress = FormProgress(source, form)
    listed: set[str] | None = set() if start == 0 and connector.HIDES_FLAGGED else None
    try:
        for page in pages:
            mapped = map_page(page, context, cursor)
            stored = store_page(source, context.form, page, mapped=mapped, lookups=lookups)
            counts.update(stored)
            statistics.note(stored["created"] + stored["quarantined"])
            if listed is not None:
                listed.update(str(item.get("external_id") or "") for item in page)
            if time.monotonic() - renewed > setting("WORDPRESS_LOCK_SECONDS") / 20:
                renew_lock(source, owner)
                renewed = time.monotonic()
            progress.note(counts)
            if between_pages:
                between_pages(form, counts)
    except Exception:
        progress.flush(counts)
        raise
    rescan(source, form, connector, counts, listed, full)


# ---- the run's record -------------------------------------------------------------------------------


class FormProgress:
    """Writes a form's counts into its run while the form syncs, at most every ``PROGRESS_SECONDS``
    (the first page at once), so a run killed midway still shows what each form stored."""

    def __init__(self, source: WordPressSource, form: SourceForm) -> None:
        self.form_id = str(form.form_id)
        self.run_pk = (
            SyncRun.objects.filter(source=source, status=SyncRun.Status.RUNNING)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        self.written: float | None = None

    def note(self, counts: Counter[str]) -> None:
        if self.run_pk is None:
            return
        now = time.monotonic()
        if self.written is not None and now - self.written < PROGRESS_SECONDS:
            return
        record_form_counts(self.run_pk, self.form_id, counts, running=True)
        self.written = now

    def flush(self, counts: Counter[str]) -> None:
        """Write the counts now, as the form fails (a failure to write them is only logged)."""
        if self.run_pk is None:
            return
        try:
            record_form_counts(self.run_pk, self.form_id, counts, running=True)
        except Exception:  # noqa: BLE001 - the form's own failure is the one to report
            logger.warning("wordpress: could not record the progress of form %s", self.form_id, exc_info=True)


def record_form_counts(
    run_pk: int, form_id: str, counts: Counter[str], error: str = "", running: bool = False
) -> SyncRun:
    """Set one form's entry in its run's ``form_counts`` and the run's totals from all entries, under the
    run's row lock (forms syncing in other processes write their own entries). Returns the run."""
    entry: dict[str, Any] = {key: counts.get(key, 0) for key in COUNT_KEYS}
    entry["error"] = error
    if running:
        entry["running"] = True
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run_pk)
        form_counts = dict(run.form_counts or {})
        form_counts[str(form_id)] = entry
        run.form_counts = form_counts
        for key in COUNT_KEYS:
            setattr(
                run, key, sum(item.get(key, 0) for item in form_counts.values() if isinstance(item, dict))
            )
        run.save(update_fields=["form_counts", *COUNT_KEYS])
    return run


def _save_counts(run: SyncRun, form: SourceForm, counts: Counter[str], error: str) -> None:
    saved = record_form_counts(run.pk, form.form_id, counts, error)
    run.form_counts = saved.form_counts
    for key in COUNT_KEYS:
        setattr(run, key, getattr(saved, key))


def _finish(
    run: SyncRun, source: WordPressSource, errors: list[str], refused: CredentialsError | None = None
) -> None:
    now = timezone.now()
    run.finished_at = now
    run.status = SyncRun.Status.FAILED if errors else SyncRun.Status.SUCCEEDED
    run.error = "\n".join(errors)
    run.save(update_fields=["finished_at", "status", "error"])
    if not errors:
        WordPressSource.objects.filter(pk=source.pk).update(
            health=WordPressSource.Health.OK, last_success_at=now, consecutive_failures=0, last_error=""
        )
        return
    if isinstance(refused, RightsError):
        health = WordPressSource.Health.LACKS_RIGHTS
    elif refused is not None:
        health = WordPressSource.Health.CREDENTIALS_INVALID
    else:
        health = WordPressSource.Health.FAILING
    WordPressSource.objects.filter(pk=source.pk).update(
        health=health,
        last_error_at=now,
        last_error=run.error,
        consecutive_failures=F("consecutive_failures") + 1,
    )
    source.refresh_from_db(fields=["health", "consecutive_failures", "last_error", "last_error_at"])
    logger.warning("wordpress sync of %s failed: %s", source.name, run.error)
    if refused is not None or source.consecutive_failures in (3, 10, 50):
        integration_failed.send(
            sender=WordPressSource,
            kind="wordpress_source",
            name=source.name,
            error=run.error,
            admin_url=reverse("wordpress_source:edit", args=[source.pk]),
        )
