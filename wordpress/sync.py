"""The sync: pull each form page by page, store its leads and raw submissions, advance the cursor, in one transaction."""

import ctypes
import hashlib
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import bulk
from crm import intake, services
from crm.models import Lead
from crm.signals import integration_failed

from .client import CredentialsError, RightsError, SyncError
from .conf import setting
from .connectors import ACTIVE, FLAGGED_STATUSES, REMOVED, SPAM_STATUSES, connector_for, flag_of, numeric_id
from .mapping import SPAM_TAGS, FormContext, RecordError, flag_reason, lead_data, restore_reason
from .models import SourceForm, Submission, SyncRun, WordPressSource

logger = logging.getLogger(__name__)
NON_SITE_PREFIXES = ("wh-", "invalid-")
COUNT_KEYS = ("fetched", "created", "updated", "duplicates", "quarantined")
HOST = socket.gethostname()
# Classification and assignment rules edited while a form syncs apply to its pages within this many seconds.
RULES_MAX_AGE = 10
# A form's counts reach its run record at least this often while it syncs (and when it ends).
PROGRESS_SECONDS = 2


# ---- the per-source lease -------------------------------------------------------------------------


def _owner_alive(owner):
    host, _sep, rest = owner.partition(":")
    pid = numeric_id(rest.partition(":")[0])
    if host != HOST or pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lock(source):
    """Take the source's sync lease; returns the owner token, or None when another live run holds it."""
    owner = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex}"
    now = timezone.now()
    expires = now + timedelta(seconds=setting("WORDPRESS_LOCK_SECONDS"))
    free = Q(lock_owner="") | Q(lock_expires_at__lt=now)
    if WordPressSource.objects.filter(free, pk=source.pk).update(lock_owner=owner, lock_expires_at=expires):
        return owner
    holder = WordPressSource.objects.filter(pk=source.pk).values_list("lock_owner", flat=True).first()
    if holder and not _owner_alive(holder):
        stolen = WordPressSource.objects.filter(pk=source.pk, lock_owner=holder).update(
            lock_owner=owner, lock_expires_at=expires
        )
        if stolen:
            SyncRun.objects.filter(source=source, status=SyncRun.Status.RUNNING).update(
                status=SyncRun.Status.FAILED, finished_at=now, error=_("The worker running this sync died.")
            )
            return owner
    return None


def renew_lock(source, owner):
    expires = timezone.now() + timedelta(seconds=setting("WORDPRESS_LOCK_SECONDS"))
    WordPressSource.objects.filter(pk=source.pk, lock_owner=owner).update(lock_expires_at=expires)


def release_lock(source, owner):
    WordPressSource.objects.filter(pk=source.pk, lock_owner=owner).update(lock_owner="", lock_expires_at=None)


# ---- storing records ------------------------------------------------------------------------------


def store_page(
    source, form, records, origin=Submission.Origin.PULL, advance_cursor=True, mapped=None, lookups=None
):
    """Store one page in one transaction: raw submissions and leads, then the cursor. Returns counts.

    New submissions are written once their outcome is known (stored with their lead, or quarantined),
    after the leads, in the same transaction: one insert each instead of an insert and an update.

    A record whose digest matches its stored submission (already a lead, or dismissed) is counted as a
    duplicate and not looked at again; a page of only such records opens no transaction. The page's new
    leads are created together (``crm.services.create_leads``); if that fails, each record is tried on
    its own so that one bad record is quarantined and the others are stored. ``mapped``: the records'
    ``LeadData`` (or the exception mapping raised; None where not mapped yet), when already computed.
    ``lookups``: a ``crm.services.NewLeadLookups`` shared by the pages of one run.
    """
    for item in records:
        fingerprint(item)
    counts = Counter(fetched=len(records))
    if not advance_cursor or _cursor_after(records) <= form.cursor:
        settled = _settled(source, form, records)
        if len(settled) == len(records):
            counts["duplicates"] += len(records)
            return counts
    with transaction.atomic():
        if origin == Submission.Origin.PULL and advance_cursor:
            _commit_without_waiting()
        cursor = SourceForm.objects.select_for_update().values_list("cursor", flat=True).get(pk=form.pk)
        submissions = _store_raw(source, form, records, origin)
        ids = [key for key, (sub, _status) in submissions.items() if not sub.unchanged]
        existing = dict(
            Lead.objects.filter(
                external_source=source.external_key, external_form=str(form.form_id), external_id__any=ids
            ).values_list("external_id", "pk")
        )
        context = None
        pending = {}
        for index, item in enumerate(records):
            key = str(item.get("external_id") or "")
            submission, previous_status = submissions.get(key, (None, ""))
            if submission is not None and submission.unchanged and key not in pending:
                counts["duplicates"] += 1
                continue
            outcome = _store_known(source, form, item, submission, previous_status, existing, pending)
            if outcome is None:
                data = mapped[index] if mapped is not None else None
                if data is None:
                    context = context or FormContext(source, form)
                    data = map_record(item, context)
                outcome = _prepare(source, form, item, submission, data, pending)
            if outcome:
                counts[outcome] += 1
        if pending:
            counts.update(_create_pending(source, form, list(pending.values()), lookups))
        _save_states(submissions.values())
        if advance_cursor:
            last = _cursor_after(records)
            if last > cursor:
                SourceForm.objects.filter(pk=form.pk).update(cursor=last)
    return counts


def _commit_without_waiting():
    """Let this transaction's commit return before its WAL is flushed (PostgreSQL's ``synchronous_commit``).

    Only for a page pulled in cursor order: the cursor advances in the same transaction, so a page a
    server crash loses is a page the next run fetches again, and the run's own later commits flush
    it with everything before. Webhook bodies and retries keep the durable commit their answer promises.
    Alerts about the page's leads go out only after their claim commits durably on its own, which
    flushes this commit first: no alert is sent about a lead a crash then loses.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _cursor_after(records):
    numeric = [numeric_id(item.get("external_id")) for item in records]
    return max((value for value in numeric if value is not None), default=0)


def fingerprint(item):
    """The record's digest (its status and raw payload as the site sent them), kept in ``item["digest"]``.

    Text PostgreSQL cannot store (NUL characters, lone surrogates) is removed from the record's raw
    payload, fields and meta; ``item["cleaned"]`` tells that it was.
    """
    if "digest" in item:
        return item["digest"]
    text = json.dumps(
        [item.get("status"), item.get("raw")],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    try:
        data = text.encode()
        unsafe = "\\u0000" in text
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
        unsafe = True
    item["digest"] = hashlib.blake2b(data, digest_size=16).hexdigest()
    if unsafe:
        cleaned = {name: storable(item.get(name)) for name in ("raw", "fields", "meta", "field_ids")}
        if any(cleaned[name] != item.get(name) for name in cleaned):
            item.update(cleaned)
            item["cleaned"] = True
            logger.warning(
                "wordpress: record %s/%s had characters the database cannot store; removed",
                item.get("form_id"),
                item.get("external_id"),
            )
    return item["digest"]


def storable(value):
    """``value`` (JSON data) without NUL characters and with lone surrogates replaced."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode()
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode()
        return value
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def _settled(source, form, records):
    """External ids of the records already stored unchanged (a lead, or dismissed), in one query."""
    digests = {str(item.get("external_id") or ""): item["digest"] for item in records}
    rows = (
        Submission.objects.filter(
            source=source, form_id=str(form.form_id), external_id__any=[key for key in digests if key]
        )
        .order_by()
        .values_list("external_id", "digest", "state", "lead_id")
    )
    return {
        key
        for key, digest, state, lead_id in rows
        if digest == digests.get(key) and _is_settled(state, lead_id)
    }


def _is_settled(state, lead_id):
    return (state == Submission.State.STORED and lead_id is not None) or state == Submission.State.DISMISSED


_RAW_FIELDS = ("id", "external_id", "digest", "state", "reason", "lead_id", "upstream_status")


def _store_raw(source, form, records, origin):
    """Upsert the raw payloads; ``{external_id: (submission, previous upstream status)}``.

    Each submission's ``unchanged`` tells that its digest matched and it needs nothing more.
    """
    keyed = {}
    for item in records:
        key = str(item.get("external_id") or "")
        if key and len(key) <= 64:
            keyed[key] = item
    found = {
        sub.external_id: sub
        for sub in Submission.objects.filter(
            source=source, form_id=str(form.form_id), external_id__any=list(keyed)
        )
        .order_by()
        .only(*_RAW_FIELDS)
    }
    result, new, updated = {}, [], []
    now = timezone.now()
    for key, item in keyed.items():
        sub = found.get(key)
        status = str(item.get("status") or "")[:16]
        if sub is None:
            sub = bulk.build(
                Submission,
                {
                    "form_id": str(form.form_id),
                    "external_id": key,
                    "origin": origin,
                    "upstream_status": status,
                    "payload": item["raw"],
                    "digest": item["digest"],
                    "received_at": now,
                    "updated_at": now,
                },
                {"source": source},
            )
            sub.unchanged = False
            new.append(sub)
            result[key] = (sub, "")
            continue
        sub.saved_state = (sub.state, sub.reason, sub.lead_id)
        result[key] = (sub, sub.upstream_status)
        same = sub.digest == item["digest"] and sub.upstream_status == status
        sub.unchanged = same and _is_settled(sub.state, sub.lead_id)
        if not same:
            sub.payload, sub.digest, sub.upstream_status, sub.updated_at = (
                item["raw"],
                item["digest"],
                status,
                now,
            )
            updated.append(sub)
    for sub in new:
        sub.saved_state = None
    if updated:
        Submission.objects.bulk_update(updated, ["payload", "digest", "upstream_status", "updated_at"])
    return result


def _store_known(source, form, item, submission, previous_status, existing, pending):
    """Count a record that needs no new lead (already stored, dismissed, repeated in the page); else None."""
    key = str(item.get("external_id") or "")
    lead_id = existing.get(key)
    if lead_id is None and submission is not None and submission.lead_id:
        lead_id = submission.lead_id
    if lead_id is not None:
        if submission is not None and submission.state != Submission.State.STORED:
            submission.state, submission.reason, submission.lead_id = Submission.State.STORED, "", lead_id
        if submission is not None and apply_upstream_status(lead_id, previous_status, item.get("status")):
            return "updated"
        return "duplicates"
    if submission is not None and submission.state == Submission.State.DISMISSED:
        return "duplicates"
    if key and key in pending:
        return "duplicates"
    return None


def apply_upstream_status(lead_id, previous, status):
    """What a status change on the site means for the lead; returns whether the lead changed.

    One policy whatever the shape: flagged (spam, trash, no longer listed) → tagged, and closed as junk
    unless a person has worked it (then its assignee is told); active again → untagged, and reopened if
    the flag closed it and nobody touched it since (``crm.services``).
    """
    before, after = flag_of(previous), flag_of(status)
    if before == after:
        return False
    lead = Lead.objects.get(pk=lead_id)
    if after in FLAGGED_STATUSES:
        services.mark_junk_upstream(lead, SPAM_TAGS[after], flag_reason(after), replaces=SPAM_TAGS.values())
    else:
        services.clear_junk_upstream(lead, SPAM_TAGS.values(), restore_reason())
    return True


def map_record(item, context):
    """The record's ``LeadData``, or the exception that keeps it from being one.

    Its raw payload is encoded once here (``crm.services.EncodedJSON``), for both the submission and the
    lead, outside the transaction that writes them.
    """
    try:
        if type(item.get("raw")) is dict:
            item["raw"] = bulk.EncodedJSON(item["raw"])
        return lead_data(item, context, context.lead_source)
    except Exception as error:  # noqa: BLE001 - any failure of one record must not stop the others
        return error


def _prepare(source, form, item, submission, data, pending):
    """Queue a mapped record in ``pending``; a record that cannot be mapped is quarantined."""
    key = str(item.get("external_id") or "")
    if submission is None:
        return _quarantine(source, form, item, submission, _("The submission has no usable id."))
    if isinstance(data, RecordError):
        return _quarantine(source, form, item, submission, str(data))
    if isinstance(data, Exception):
        return _quarantine(source, form, item, submission, _failure(form, key, data))
    pending[key] = (item, submission, data)
    return ""


def _create_pending(source, form, pending, lookups=None):
    """Create the leads of a page's new records; returns their counts."""
    lookups = lookups.fresh() if lookups is not None else intake.NewLeadLookups()
    try:
        leads = intake.create_leads(
            [data for _item, _sub, data in pending], lookups=lookups, refs_checked=True
        )
    except Exception as error:  # noqa: BLE001 - retried one by one below
        logger.warning(
            "wordpress: page of form %s failed as a batch, storing one by one: %r", form.form_id, error
        )
        leads = None
    counts = Counter()
    for index, (item, submission, data) in enumerate(pending):
        if leads is not None:
            lead = leads[index]
        else:
            try:
                lead = intake.create_leads([data], lookups=lookups)[0]
            except Exception as error:  # noqa: BLE001 - any failure of one record must not stop the others
                counts[
                    _quarantine(source, form, item, submission, _failure(form, data.external_id, error))
                ] += 1
                continue
        if lead is None:
            lead_id = (
                Lead.objects.filter(
                    external_source=data.external_source,
                    external_form=data.external_form,
                    external_id=data.external_id,
                )
                .values_list("pk", flat=True)
                .first()
            )
            counts["duplicates"] += 1
        else:
            lead_id = lead.pk
            counts["created"] += 1
        submission.state, submission.reason, submission.lead_id = Submission.State.STORED, "", lead_id
    return counts


def _failure(form, key, error):
    logger.warning("wordpress: record %s/%s quarantined: %r", form.form_id, key, error)
    return f"{type(error).__name__}: {error}"[:2000]


_STORED_SQL = (
    "WITH stored(id, lead_id) AS (VALUES {rows}) "
    "UPDATE {table} SET state = %s, reason = '', updated_at = %s, "
    "lead_id = (SELECT stored.lead_id FROM stored WHERE stored.id = {table}.id) "
    "WHERE id IN (SELECT id FROM stored)"
)
_STORED_SQL_POSTGRES = (
    "UPDATE {table} SET state = %s, reason = '', updated_at = %s, lead_id = stored.lead_id "
    "FROM unnest(%s::bigint[], %s::bigint[]) AS stored(id, lead_id) WHERE {table}.id = stored.id"
)


def _save_states(submissions):
    """Insert the new submissions with their outcome; write the others' new state, reason and lead (the
    stored ones in one statement)."""
    now = timezone.now()
    stored, others = [], []
    new = [sub for sub, _status in submissions if sub.saved_state is None]
    for sub in new:
        sub.updated_at = now
    bulk.bulk_insert(new)
    for sub, _status in submissions:
        if sub.saved_state is None or (sub.state, sub.reason, sub.lead_id) == sub.saved_state:
            continue
        if sub.state == Submission.State.STORED and sub.lead_id:
            stored.append(sub)
        else:
            others.append(sub)
    if stored:
        table = Submission._meta.db_table
        if connection.vendor == "postgresql":
            sql = _STORED_SQL_POSTGRES.format(table=table)
            params = [
                Submission.State.STORED,
                now,
                [sub.pk for sub in stored],
                [sub.lead_id for sub in stored],
            ]
        else:
            sql = _STORED_SQL.format(rows=", ".join(["(%s, %s)"] * len(stored)), table=table)
            params = [
                *(value for sub in stored for value in (sub.pk, sub.lead_id)),
                Submission.State.STORED,
                now,
            ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    for sub in others:
        sub.updated_at = now
    if others:
        Submission.objects.bulk_update(others, ["state", "reason", "lead", "updated_at"])


def _quarantine(source, form, item, submission, reason):
    if submission is None:
        Submission.objects.create(
            source=source,
            form_id=str(form.form_id),
            external_id=f"invalid-{uuid.uuid4().hex[:16]}",
            payload=item.get("raw")
            if isinstance(item.get("raw"), (dict, list))
            else {"value": repr(item.get("raw"))},
            state=Submission.State.QUARANTINED,
            reason=reason,
        )
    else:
        submission.state, submission.reason = Submission.State.QUARANTINED, reason
    return "quarantined"


def retry_submission(submission):
    """Try a quarantined submission again; returns the lead or raises ``RecordError``."""
    from .webhooks import record_from_submission

    source = submission.source
    form = (
        SourceForm.objects.select_related("brand", "default_service")
        .filter(source=source, form_id=submission.form_id)
        .first()
    )
    if form is None:
        raise RecordError(
            _("The form %(form)s is not configured for this source.") % {"form": submission.form_id}
        )
    item = record_from_submission(submission)
    counts = store_page(source, form, [item], origin=submission.origin, advance_cursor=False)
    submission.refresh_from_db()
    if counts["quarantined"]:
        raise RecordError(submission.reason)
    return submission.lead


def dismiss_submission(submission):
    Submission.objects.filter(pk=submission.pk).update(
        state=Submission.State.DISMISSED, updated_at=timezone.now()
    )


# ---- the run ---------------------------------------------------------------------------------------


def sync_source(source, full=False, trigger=SyncRun.Trigger.SCHEDULE, between_pages=None):
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


def sync_processes(forms):
    """How many processes sync a source of ``forms`` forms: ``WORDPRESS_SYNC_PROCESSES``, else one per usable CPU."""
    return min(forms, setting("WORDPRESS_SYNC_PROCESSES") or len(os.sched_getaffinity(0)))


def _synced_forms(source, forms, full, owner, between_pages):
    """Sync each form; yields ``(form, counts, SyncError or None)`` as each form ends.

    On PostgreSQL, from a process's main thread outside a transaction (an RQ job, a command), up to
    ``WORDPRESS_SYNC_PROCESSES`` forms (default: one per core) are synced at once: this process and
    forked helpers each claim the next form, each form in one process with its pages in order.
    Elsewhere, and with a ``between_pages`` callback, one after the other here.
    """
    processes = sync_processes(len(forms))
    parallel = (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and threading.current_thread() is threading.main_thread()
    )
    if processes > 1 and parallel and between_pages is None:
        yield from _synced_in_processes(source, forms, full, owner, processes - 1)
        return
    connector = connector_for(source)
    for form in forms:
        yield _sync_one(source, form, connector, full, owner, between_pages)


def _sync_one(source, form, connector, full, owner, between_pages=None):
    counts = Counter(dict.fromkeys(COUNT_KEYS, 0))
    try:
        _sync_form(source, form, connector, counts, full, owner, between_pages)
    except SyncError as error:
        return form, counts, error
    return form, counts, None


def _synced_in_processes(source, forms, full, owner, helpers):
    """``_synced_forms`` shared between this process and ``helpers`` forked ones that die with it.

    Whoever is free claims the next form (a shared counter); helpers send each form's outcome back
    through a pipe of their own. Refused credentials stop further claims; a helper that dies
    unexpectedly fails the run; helpers still running when the run ends early are killed.
    """
    context = multiprocessing.get_context("fork")
    claimed = context.Value("i", 0)
    language = translation.get_language()
    by_pk = {form.pk: form for form in forms}
    outstanding = len(forms)
    connector = None
    started = []
    connections.close_all()
    try:
        for _number in range(helpers):
            receiver, sender = context.Pipe(duplex=False)
            helper = context.Process(
                target=_form_helper,
                args=(source, forms, claimed, full, owner, language, sender, os.getpid()),
                daemon=True,
            )
            started.append((helper, receiver))
            helper.start()
            sender.close()
        while (index := _claim(claimed)) < len(forms):
            connector = connector or connector_for(source)
            outcome = _sync_one(source, forms[index], connector, full, owner)
            if isinstance(outcome[2], CredentialsError):
                _stop_claims(claimed, len(forms))
            outstanding -= 1
            yield outcome
            for form_pk, counts, error in _helper_outcomes(started, timeout=0):
                outstanding -= 1
                yield by_pk[form_pk], counts, error
        while outstanding:
            for form_pk, counts, error in _helper_outcomes(started, timeout=None):
                outstanding -= 1
                yield by_pk[form_pk], counts, error
    finally:
        for helper, receiver in started:
            receiver.close()
            if outstanding and helper.pid is not None:
                helper.kill()
            if helper.pid is not None:
                helper.join()


def _claim(claimed):
    with claimed.get_lock():
        index = claimed.value
        claimed.value += 1
    return index


def _stop_claims(claimed, total):
    with claimed.get_lock():
        claimed.value = max(claimed.value, total)


def _helper_outcomes(started, timeout):
    """The ``(form pk, counts, error)`` helpers have sent; waits up to ``timeout`` (None: for one).

    An exception a helper sent is raised after the outcomes read with it have been handed over.
    """
    receivers = {receiver: helper for helper, receiver in started if not receiver.closed}
    if not receivers and timeout is None:
        raise SyncError(_("A sync worker process ended before finishing its forms."))
    failure = None
    for ready in multiprocessing.connection.wait(
        [*receivers, *(helper.sentinel for helper in receivers.values())], timeout
    ):
        if ready not in receivers:
            continue
        try:
            outcome = ready.recv()
        except EOFError:
            ready.close()
            continue
        if isinstance(outcome, BaseException):
            failure = outcome
            continue
        yield outcome
    if failure is not None:
        raise failure


def _form_helper(source, forms, claimed, full, owner, language, sender, parent_pid):
    """A forked helper, given the parent's ``source`` and ``forms``: dies with its parent, syncs the
    forms it claims and sends back each outcome.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)
    connections.close_all()
    translation.activate(language)
    try:
        connector = connector_for(source)
        while (index := _claim(claimed)) < len(forms):
            form, counts, error = _sync_one(source, forms[index], connector, full, owner)
            if isinstance(error, CredentialsError):
                _stop_claims(claimed, len(forms))
            sender.send((form.pk, counts, error))
    except Exception as error:  # noqa: BLE001 - handed to the parent, which fails the run with it
        sender.send(error)
    finally:
        connections.close_all()
        sender.close()


PR_SET_PDEATHSIG = 1


class GrowthStatistics:
    """Re-ANALYZE what a form's sync plans on once the form has doubled since the statistics last saw it.

    A first sync can multiply the tables many times over in one run, and plans made on statistics of
    another scale go wrong:

    - the per-page lookups of submissions by external id read the whole form, with the ids as a filter,
      when the statistics say the form is (nearly) empty: 14 ms a page instead of 0.3 ms at 100,000
      submissions. A form synced after others had filled the table was not in its statistics at all,
      and a later ``--full`` read 12.5 million index entries to re-read 100,000 submissions;
    - PostgreSQL's own foreign-key checks (of each new event, tag, submission and duplicate against its
      lead) are plans it caches per connection. Made while the lead table is empty by its statistics,
      which know nothing of its columns, and its indexes still have their size from before a purge, an
      index probe looks dearer than a scan: they scan the whole table on every check until something
      invalidates them, a quadratic cost that doubled PostgreSQL's time per lead in the benchmark.

    Autovacuum, when it runs at all, catches up only after its nap, and does not reach a running sync's
    cached plans. So a form's run analyzes once it has stored ``MINIMUM`` rows and as many as the form
    held at the last analysis: a handful of ANALYZE runs however far the form grows, each on a few
    columns (a whole-table ANALYZE sorts every payload of its sample, and the lead table's, with the
    dashboards' multi-column statistics, costs seconds). Analyzing one column still updates the table's
    size and invalidates the plans cached on it. PostgreSQL only; elsewhere this does nothing.
    """

    COLUMNS = {
        Submission._meta.db_table: ("source_id", "form_id", "external_id"),
        Lead._meta.db_table: ("id",),
    }
    MINIMUM = 1_000

    def __init__(self, source, form):
        self.enabled = connection.vendor == "postgresql"
        self.rows = Submission.objects.filter(source=source, form_id=str(form.form_id))
        self.grown = 0
        self.known = None

    def note(self, stored):
        if not self.enabled:
            return
        self.grown += stored
        if self.grown < max(self.MINIMUM, self.known or 0):
            return
        rows = self.rows.count()
        if self.known is None:
            self.known = rows - self.grown
            if self.grown < self.known:
                return
        with connection.cursor() as cursor:
            for table, columns in self.COLUMNS.items():
                cursor.execute(f"ANALYZE {table} ({', '.join(columns)})")  # noqa: S608 - constant names
        self.grown = 0
        self.known = rows


def _sync_form(source, form, connector, counts, full, owner, between_pages):
    start = 0 if full else SourceForm.objects.values_list("cursor", flat=True).get(pk=form.pk)
    context = FormContext(
        source, SourceForm.objects.select_related("brand", "default_service").get(pk=form.pk)
    )
    pages = _fetched_ahead(connector.fetch_new(form.form_id, start), context, context.form.cursor)
    renewed = time.monotonic()
    statistics = GrowthStatistics(source, form)
    lookups = intake.NewLeadLookups(max_age=RULES_MAX_AGE)
    progress = FormProgress(source, form)
    listed = set() if start == 0 and connector.HIDES_FLAGGED else None
    try:
        for page, mapped in pages:
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
    _rescan(source, form, connector, counts, listed, full)


def _rescan(source, form, connector, counts, listed=None, full=False):
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
    updates = {"rescanned_at": now}
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


def _store_rescanned(source, form, page, counts):
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
        and (_is_settled(state, lead_id) or state == Submission.State.QUARANTINED)
    }
    page = [item for item in page if str(item.get("external_id") or "") in digests.keys() - known]
    if page:
        _count_rescanned(counts, store_page(source, form, page, advance_cursor=False))


def _complete_rescan_due(form, now):
    last = SourceForm.objects.values_list("fully_rescanned_at", flat=True).get(pk=form.pk)
    return last is None or last <= now - timedelta(hours=setting("WORDPRESS_COMPLETE_RESCAN_HOURS"))


def _count_rescanned(counts, rescanned):
    acted = 0
    for key in ("created", "updated", "quarantined"):
        counts[key] += rescanned[key]
        acted += rescanned[key]
    counts["fetched"] += acted


def store_vanished(source, form, listed, since=None, confirmed=False):
    """Mark the held submissions a hiding shape no longer lists (of those created since ``since``, or all)
    as removed upstream, and apply that to their leads. Returns counts (``updated``).

    A complete listing that drops most of what the form held at once looks like a broken site rather than
    a clean-up: unless ``confirmed`` (a full re-read someone asked for), nothing is marked and the form
    fails with the reason.
    """
    held = Submission.objects.filter(
        source=source, form_id=str(form.form_id), upstream_status__in=["", ACTIVE]
    ).exclude(state=Submission.State.RECEIVED)
    if since is not None:
        held = held.filter(lead__submitted_at__gte=since)
    rows = [
        row
        for row in held.order_by().values_list("pk", "external_id", "lead_id", "upstream_status")
        if not row[1].startswith(NON_SITE_PREFIXES)
    ]
    gone = [row for row in rows if row[1] not in listed]
    counts = Counter()
    if not gone:
        return counts
    if since is None and not confirmed and len(gone) > max(10, len(rows) // 2):
        raise SyncError(
            _(
                "The site stopped listing %(gone)s of the %(held)s submissions held for this form at once; "
                "none was marked removed. Check the site; if they were really removed there, run a full sync "
                "(Sync now, “Re-read every submission”) to apply it."
            )
            % {"gone": len(gone), "held": len(rows)}
        )
    for pk, _external_id, lead_id, previous in gone:
        with transaction.atomic():
            Submission.objects.filter(pk=pk).update(
                upstream_status=REMOVED, digest="", updated_at=timezone.now()
            )
            if lead_id is not None and apply_upstream_status(lead_id, previous, REMOVED):
                counts["updated"] += 1
    return counts


class FormProgress:
    """Writes a form's counts into its run while the form syncs, at most every ``PROGRESS_SECONDS``
    (the first page at once), so a run killed midway still shows what each form stored."""

    def __init__(self, source, form):
        self.form_id = str(form.form_id)
        self.run_pk = (
            SyncRun.objects.filter(source=source, status=SyncRun.Status.RUNNING)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        self.written = None

    def note(self, counts):
        if self.run_pk is None:
            return
        now = time.monotonic()
        if self.written is not None and now - self.written < PROGRESS_SECONDS:
            return
        record_form_counts(self.run_pk, self.form_id, counts, running=True)
        self.written = now

    def flush(self, counts):
        """Write the counts now, as the form fails (a failure to write them is only logged)."""
        if self.run_pk is None:
            return
        try:
            record_form_counts(self.run_pk, self.form_id, counts, running=True)
        except Exception:  # noqa: BLE001 - the form's own failure is the one to report
            logger.warning("wordpress: could not record the progress of form %s", self.form_id, exc_info=True)


def record_form_counts(run_pk, form_id, counts, error="", running=False):
    """Set one form's entry in its run's ``form_counts`` and the run's totals from all entries, under the
    run's row lock (forms syncing in other processes write their own entries). Returns the run."""
    entry = {key: counts.get(key, 0) for key in COUNT_KEYS}
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


def _fetched_ahead(pages, context, cursor):
    """``(page, mapped records)`` from ``pages``, fetched and mapped one page ahead in a thread.

    The next page is read from the site, digested and normalised while this one is written to the
    database. Records at or below ``cursor`` (most likely stored already) are left unmapped (None):
    ``store_page`` maps them only if they turn out new or changed. The thread touches no database:
    ``context`` is loaded beforehand. Errors surface in page order.
    """
    ready = queue.Queue(maxsize=1)
    stop = threading.Event()
    language = translation.get_language()

    def put(item):
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        translation.activate(language)
        try:
            for page in pages:
                mapped = []
                for item in page:
                    fingerprint(item)
                    number = numeric_id(item.get("external_id"))
                    known = number is not None and number <= cursor
                    mapped.append(None if known else map_record(item, context))
                if not put((page, mapped)):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consuming thread
            put(error)
        else:
            put(None)

    worker = threading.Thread(target=work, name="wordpress-fetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _save_counts(run, form, counts, error):
    saved = record_form_counts(run.pk, form.form_id, counts, error)
    run.form_counts = saved.form_counts
    for key in COUNT_KEYS:
        setattr(run, key, getattr(saved, key))


def _finish(run, source, errors, refused=None):
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


def mark_edited(source):
    """An admin edited the source: credentials or rights may be fixed, so scheduled syncs resume."""
    if source.health in WordPressSource.REFUSED_HEALTH:
        source.health = WordPressSource.Health.UNKNOWN
    source.next_sync_at = None


# ---- reconciliation --------------------------------------------------------------------------------


def reconcile(source):
    """Per form, the site compared with the CRM, like with like: ``{form_id: entry}``.

    Each status the shape lists (active; spam and trash where it lists them) is compared with the
    submissions the CRM holds under that status upstream: ``missing`` ids the site lists that the CRM
    lacks, ``extra`` ids the CRM holds under a listed status that the site does not list, ``mismatched``
    ``[id, site status, CRM status]`` for ids both hold under different statuses. Submissions the CRM
    holds as flagged where the shape hides flagged ones (legacy) are not compared with anything.
    """
    connector = connector_for(source)
    report = {}
    for form in source.forms.order_by("form_id"):
        site = {str(key): flag_of(status) for key, status in connector.list_statuses(form.form_id).items()}
        held = _held_statuses(source, form)
        compared = set(connector.LISTED_STATUSES)
        mismatched = [
            [key, site[key], held[key]]
            for key in sorted(site.keys() & held.keys(), key=_sort_key)
            if site[key] != held[key]
        ]
        report[str(form.form_id)] = {
            "site": len(site),
            "crm": sum(1 for status in held.values() if status in compared),
            "missing": sorted(site.keys() - held.keys(), key=_sort_key),
            "extra": sorted(
                (key for key, status in held.items() if status in compared and key not in site), key=_sort_key
            ),
            "mismatched": mismatched,
        }
    return report


def _held_statuses(source, form):
    """``{external id: status upstream}`` of the form's leads and quarantined or dismissed submissions."""
    statuses = dict.fromkeys(
        Lead.objects.filter(external_source=source.external_key, external_form=str(form.form_id)).values_list(
            "external_id", flat=True
        ),
        ACTIVE,
    )
    submissions = Submission.objects.filter(source=source, form_id=str(form.form_id)).values_list(
        "external_id", "state", "upstream_status"
    )
    settled = (Submission.State.QUARANTINED, Submission.State.DISMISSED)
    for key, state, status in submissions.order_by():
        if key in statuses or state in settled:
            statuses[key] = flag_of(status)
    return {key: status for key, status in statuses.items() if not key.startswith(NON_SITE_PREFIXES)}


def _sort_key(value):
    number = numeric_id(value)
    return (0, number, "") if number is not None else (1, 0, value)
