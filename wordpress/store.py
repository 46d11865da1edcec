"""Storing a page of records in one transaction: raw submissions, their leads or quarantine, the cursor.

Pulls (``sync``), webhook deliveries (``webhooks``) and quarantine retries (``retry``) all store through
``store_page``.
"""

import hashlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import bulk
from crm import intake, tombstones
from crm.models import Lead

from .connectors import Page, Record, numeric_id
from .mapping import FormContext, RecordError, lead_data
from .models import SourceForm, Submission, WordPressSource
from .upstream import apply_upstream_status

logger = logging.getLogger(__name__)

Mapped = intake.LeadData | Exception | None


def store_page(  # noqa: C901 - known debt (ARCHITECTURE.md, Habits)
    source: WordPressSource,
    form: SourceForm,
    records: Page,
    origin: str = Submission.Origin.PULL,
    advance_cursor: bool = True,
    mapped: Sequence[Mapped] | None = None,
    lookups: intake.NewLeadLookups | None = None,
) -> Counter[str]:
    """Store one page in one transaction: raw submissions and leads, then the cursor. Returns counts.

    New submissions are written once their outcome is known (stored with their lead, or quarantined),
    after the leads, in the same transaction: one insert each instead of an insert and an update.

    A record whose digest matches its stored submission (already a lead, or dismissed) is counted as a
    duplicate and not looked at again; a page of only such records opens no transaction. The page's new
    leads are created together (``crm.intake.create_leads``); if that fails, each record is tried on
    its own so that one bad record is quarantined and the others are stored. ``mapped``: the records'
    ``LeadData`` (or the exception mapping raised; None where not mapped yet), when already computed.
    ``lookups``: a ``crm.intake.NewLeadLookups`` shared by the pages of one run. A record whose person
    was erased (``crm.tombstones``) is counted as a duplicate (and as ``erased``) and nothing of it is
    stored.
    """
    last = _cursor_after(records)
    counts = Counter(fetched=len(records))
    for item in records:
        fingerprint(item)
    if not advance_cursor or last <= form.cursor:
        settled = _settled(source, form, records)
        if len(settled) == len(records):
            counts["duplicates"] += len(records)
            return counts
    with transaction.atomic():
        if origin == Submission.Origin.PULL and advance_cursor:
            _commit_without_waiting()
        tombstones.hold_off_erasures()
        records, mapped, erased = _without_erased(source, form, records, mapped)
        counts["duplicates"] += erased
        counts["erased"] += erased
        cursor = SourceForm.objects.select_for_update().values_list("cursor", flat=True).get(pk=form.pk)
        held = _store_raw(source, form, records, origin)
        ids = [key for key, entry in held.items() if not entry.unchanged]
        existing = dict(
            Lead.objects.filter(
                external_source=source.external_key, external_form=str(form.form_id), external_id__any=ids
            ).values_list("external_id", "pk")
        )
        context = None
        pending: dict[str, _Pending] = {}
        for index, item in enumerate(records):
            key = str(item.get("external_id") or "")
            entry = held.get(key)
            if entry is not None and entry.unchanged and key not in pending:
                counts["duplicates"] += 1
                continue
            submission = entry.submission if entry is not None else None
            previous_status = entry.previous_status if entry is not None else ""
            outcome = _store_known(item, submission, previous_status, existing, pending)
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
        _save_states(held.values())
        if advance_cursor and last > cursor:
            SourceForm.objects.filter(pk=form.pk).update(cursor=last)
    return counts


def _without_erased(
    source: WordPressSource, form: SourceForm, records: Page, mapped: Sequence[Mapped] | None
) -> tuple[Page, Sequence[Mapped] | None, int]:
    """The page without the records whose reference was erased, their mapped drafts alike, and how many
    were left out."""
    keys = [str(item.get("external_id") or "") for item in records]
    erased = tombstones.erased_references(source.external_key, str(form.form_id), keys)
    if not erased:
        return records, mapped, 0
    kept = [index for index, key in enumerate(keys) if key not in erased]
    return (
        [records[index] for index in kept],
        None if mapped is None else [mapped[index] for index in kept],
        len(records) - len(kept),
    )


def quarantine(
    source: WordPressSource, form: SourceForm | None, item: Record, submission: Submission | None, reason: str
) -> str:
    """Hold a record that cannot become a lead, with the reason (a record without a usable id is kept
    under a made-up one). Returns the count it goes to."""
    if submission is None:
        assert form is not None
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


def fingerprint(item: Record) -> str:
    """The record's digest (its status and raw payload as the site sent them), kept in ``item["digest"]``.

    Text PostgreSQL cannot store (NUL characters, lone surrogates) is removed from the record's raw
    payload, fields and meta; ``item["cleaned"]`` tells that it was. Otherwise a raw payload that is a
    JSON object keeps its part of the digested text (``item["raw_text"]``), which ``map_record`` stores
    instead of encoding the payload again.
    """
    if "digest" in item:
        known: str = item["digest"]
        return known
    not_json: list[Any] = []

    def default(value: Any) -> str:
        not_json.append(value)
        return str(value)

    status, raw = item.get("status"), item.get("raw")
    text = json.dumps(
        [status, raw], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=default
    )
    try:
        data = text.encode()
        unsafe = "\\u0000" in text
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
        unsafe = True
    digest = item["digest"] = hashlib.blake2b(data, digest_size=16).hexdigest()
    if type(raw) is dict and not unsafe and not not_json:
        # ``[<status>,<raw>]``: the raw payload's text follows the status's and its comma.
        start = len(json.dumps(status, ensure_ascii=False, default=str)) + 2
        item["raw_text"] = text[start:-1]
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
    return digest


def storable(value: Any) -> Any:
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


def map_record(item: Record, context: FormContext) -> intake.LeadData | Exception:
    """The record's ``LeadData``, or the exception that keeps it from being one.

    Its raw payload is encoded once here (``core.bulk.EncodedJSON``), for both the submission and the
    lead, outside the transaction that writes them.
    """
    try:
        if type(item.get("raw")) is dict:
            item["raw"] = bulk.EncodedJSON(item["raw"], item.pop("raw_text", None))
        return lead_data(item, context, context.lead_source)
    except Exception as error:  # noqa: BLE001 - any failure of one record must not stop the others
        return error


def fingerprint_page(page: Page) -> Page:
    """The page with each record fingerprinted (``fingerprint``): what the fetching thread prepares."""
    for item in page:
        fingerprint(item)
    return page


def map_page(page: Page, context: FormContext, cursor: int) -> list[Mapped]:
    """Each record of a pulled page fingerprinted and mapped (``map_record``), but for those at or
    below ``cursor``, most likely stored already (None: ``store_page`` maps them if they turn out new
    or changed). Touches no database: ``context`` is loaded beforehand."""
    mapped: list[Mapped] = []
    for item in page:
        fingerprint(item)
        number = numeric_id(item.get("external_id"))
        known = number is not None and number <= cursor
        mapped.append(None if known else map_record(item, context))
    return mapped


def is_settled(state: str, lead_id: int | None) -> bool:
    """Whether a submission needs nothing more while its payload is unchanged: a lead, or dismissed."""
    return (state == Submission.State.STORED and lead_id is not None) or state == Submission.State.DISMISSED


# ---- writing a page ---------------------------------------------------------------------------------


class _Held:
    """A page record's submission while the page is stored: its upstream status before this page,
    whether it needs nothing more, and its ``(state, reason, lead)`` as found (None: new, not inserted)."""

    __slots__ = ("previous_status", "saved_state", "submission", "unchanged")

    def __init__(
        self,
        submission: Submission,
        previous_status: str,
        unchanged: bool,
        saved_state: tuple[str, str, int | None] | None,
    ) -> None:
        self.submission = submission
        self.previous_status = previous_status
        self.unchanged = unchanged
        self.saved_state = saved_state


_Pending = tuple[Record, Submission, intake.LeadData]


def _commit_without_waiting() -> None:
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


def _cursor_after(records: Page) -> int:
    numeric = [numeric_id(item.get("external_id")) for item in records]
    return max((value for value in numeric if value is not None), default=0)


def _settled(source: WordPressSource, form: SourceForm, records: Page) -> set[str]:
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
        if digest == digests.get(key) and is_settled(state, lead_id)
    }


_RAW_FIELDS = ("id", "external_id", "digest", "state", "reason", "lead_id", "upstream_status")


def _store_raw(source: WordPressSource, form: SourceForm, records: Page, origin: str) -> dict[str, _Held]:
    """Upsert the raw payloads of the records with a usable id; ``{external_id: held submission}``."""
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
    result, updated = {}, []
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
            result[key] = _Held(sub, "", False, None)
            continue
        same = sub.digest == item["digest"] and sub.upstream_status == status
        result[key] = _Held(
            sub,
            sub.upstream_status,
            same and is_settled(sub.state, sub.lead_id),
            (sub.state, sub.reason, sub.lead_id),
        )
        if not same:
            sub.payload, sub.digest, sub.upstream_status, sub.updated_at = (
                item["raw"],
                item["digest"],
                status,
                now,
            )
            updated.append(sub)
    if updated:
        Submission.objects.bulk_update(updated, ["payload", "digest", "upstream_status", "updated_at"])
    return result


def _store_known(
    item: Record,
    submission: Submission | None,
    previous_status: str,
    existing: dict[str, int],
    pending: dict[str, _Pending],
) -> str | None:
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


def _prepare(
    source: WordPressSource,
    form: SourceForm,
    item: Record,
    submission: Submission | None,
    data: intake.LeadData | Exception,
    pending: dict[str, _Pending],
) -> str:
    """Queue a mapped record in ``pending``; a record that cannot be mapped is quarantined."""
    key = str(item.get("external_id") or "")
    if submission is None:
        return quarantine(source, form, item, submission, _("The submission has no usable id."))
    if isinstance(data, RecordError):
        return quarantine(source, form, item, submission, str(data))
    if isinstance(data, Exception):
        return quarantine(source, form, item, submission, _failure(form, key, data))
    pending[key] = (item, submission, data)
    return ""


def _create_pending(
    source: WordPressSource,
    form: SourceForm,
    pending: list[_Pending],
    lookups: intake.NewLeadLookups | None = None,
) -> Counter[str]:
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
    counts: Counter[str] = Counter()
    for index, (item, submission, data) in enumerate(pending):
        if leads is not None:
            lead = leads[index]
        else:
            try:
                lead = intake.create_leads([data], lookups=lookups)[0]
            except Exception as error:  # noqa: BLE001 - any failure of one record must not stop the others
                counts[
                    quarantine(source, form, item, submission, _failure(form, data.external_id, error))
                ] += 1
                continue
        if lead is None and tombstones.is_erased(data):
            _forget_erased(source, form, submission, data)
            counts["duplicates"] += 1
            counts["erased"] += 1
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


def _forget_erased(
    source: WordPressSource, form: SourceForm, submission: Submission, data: intake.LeadData
) -> None:
    """A new submission of an erased person (their email or phone): dismissed without its payload, and
    its reference buried too."""
    submission.payload, submission.digest = {}, ""
    submission.state, submission.reason, submission.lead_id = Submission.State.DISMISSED, "", None
    if submission.pk is not None:
        Submission.objects.filter(pk=submission.pk).update(payload={}, digest="")
    tombstones.bury(
        [],
        {tombstones.reference_digest(source.external_key, str(form.form_id), submission.external_id): "ref"},
    )


def _failure(form: SourceForm, key: str, error: Exception) -> str:
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


def _save_states(held: Collection[_Held]) -> None:
    """Insert the new submissions with their outcome; write the others' new state, reason and lead (the
    stored ones in one statement)."""
    now = timezone.now()
    stored, others = [], []
    new = [entry.submission for entry in held if entry.saved_state is None]
    for sub in new:
        sub.updated_at = now
    bulk.bulk_insert(new)
    for entry in held:
        sub = entry.submission
        if entry.saved_state is None or (sub.state, sub.reason, sub.lead_id) == entry.saved_state:
            continue
        if sub.state == Submission.State.STORED and sub.lead_id:
            stored.append(sub)
        else:
            others.append(sub)
    if stored:
        table = Submission._meta.db_table
        params: list[Any]
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
