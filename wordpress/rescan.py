"""Looking again at what a form's site may have changed since it was stored: spam, trash, restored, gone."""

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from .conf import setting
from .connectors import REMOVED, SPAM_STATUSES, Connector, Page
from .models import SourceForm, Submission, WordPressSource
from .store import fingerprint, is_settled, store_page
from .upstream import store_vanished


def rescan(
    source: WordPressSource,
    form: SourceForm,
    connector: Connector,
    counts: Counter[str],
    listed: set[str] | None = None,
    full: bool = False,
) -> None:
    """Look again at what may have changed on the site since it was stored: spam, trash, restored.

    Collection: rows modified since the last re-scan (at most ``rescan_hours`` back). Gravity Forms: every
    spam and trash entry, and each one held as such that left those lists. Legacy, which only lists
    active rows: the rows created in the last ``rescan_hours``, and every row each
    ``WORDPRESS_COMPLETE_RESCAN_HOURS`` (or after a walk from the start, ``listed``); a held submission of
    that period it no longer lists was flagged there.
    The run counts what a re-scan acted on (new, changed, gone), not what it found as it was.
    """
    now = timezone.now()
    window = now - timedelta(hours=source.rescan_hours)
    updates: dict[str, Any] = {"rescanned_at": now}
    if connector.HIDES_FLAGGED:
        complete = listed is not None or _complete_rescan_due(form, now)
        if listed is None:
            listed = set()
            for page in connector.fetch_changed(form.form_id, None if complete else window):
                listed.update(str(item.get("external_id") or "") for item in page)
                _store_rescanned(source, form, page, counts)
        vanished = store_vanished(source, form, listed, None if complete else window, confirmed=full)
        _count_rescanned(counts, vanished)
        if complete:
            updates["fully_rescanned_at"] = now
    else:
        since = window
        if form.rescanned_at and form.rescanned_at - timedelta(hours=1) > since:
            since = form.rescanned_at - timedelta(hours=1)
        flagged = set(
            Submission.objects.filter(
                source=source, form_id=str(form.form_id), upstream_status__in=SPAM_STATUSES
            ).values_list("external_id", flat=True)
        )
        for page in connector.fetch_changed(form.form_id, since, flagged):
            _store_rescanned(source, form, page, counts)
        if connector.deleted:
            Submission.objects.filter(
                source=source, form_id=str(form.form_id), external_id__in=connector.deleted
            ).update(upstream_status=REMOVED, digest="", updated_at=now)
    SourceForm.objects.filter(pk=form.pk).update(**updates)


def _store_rescanned(source: WordPressSource, form: SourceForm, page: Page, counts: Counter[str]) -> None:
    """Store a re-scan page's new and changed records. Records stored as they are (quarantined ones
    included: a full sync or the quarantine page retries those) and records without an id are left."""
    for item in page:
        fingerprint(item)
    digests = {str(item.get("external_id") or ""): item["digest"] for item in page}
    digests.pop("", None)
    rows = Submission.objects.filter(
        source=source, form_id=str(form.form_id), external_id__any=list(digests)
    ).values_list("external_id", "digest", "state", "lead_id")
    known = {
        key
        for key, digest, state, lead_id in rows.order_by()
        if digest == digests.get(key)
        and (is_settled(state, lead_id) or state == Submission.State.QUARANTINED)
    }
    page = [item for item in page if str(item.get("external_id") or "") in digests.keys() - known]
    if page:
        _count_rescanned(counts, store_page(source, form, page, advance_cursor=False))


def _complete_rescan_due(form: SourceForm, now: datetime) -> bool:
    last = SourceForm.objects.values_list("fully_rescanned_at", flat=True).get(pk=form.pk)
    return last is None or last <= now - timedelta(hours=setting("WORDPRESS_COMPLETE_RESCAN_HOURS"))


def _count_rescanned(counts: Counter[str], rescanned: Mapping[str, int]) -> None:
    acted = 0
    for key in ("created", "updated", "quarantined"):
        counts[key] += rescanned[key]
        acted += rescanned[key]
    counts["fetched"] += acted
