"""Webhook deliveries: proof checks, raw storage with replay detection, parsing into records, processing."""

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from core.jobs import enqueue
from crm import tombstones

from .conf import setting
from .connectors import Record, record, webhook_kind, webhook_record
from .mapping import RecordError
from .models import Submission, WebhookDelivery, WordPressSource
from .store import quarantine, storable, store_page

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Intralog-Signature"
TIMESTAMP_HEADER = "X-Intralog-Timestamp"
DELIVERY_HEADER = "X-Intralog-Delivery"
MAX_ATTEMPTS = 5
MAX_JSON_DEPTH = 32


class WebhookRejected(Exception):
    """The request fails its proof; the reason is logged, never shown to the sender."""


def sign(secret: str, timestamp: str, delivery_id: str, body: bytes) -> str:
    """The signature senders put in the header.

    HMAC-SHA256, with the source's secret, of ``"<timestamp>.<delivery id>." + body`` (the raw body
    bytes), hex-encoded and prefixed with ``sha256=``. The delivery id is signed so a captured request
    cannot be sent again under another id.
    """
    message = f"{timestamp}.{delivery_id}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    source: WordPressSource, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> str:
    """Check signature (over timestamp, delivery id and body) and timestamp window; returns the delivery id."""
    signature = headers.get(SIGNATURE_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    delivery_id = headers.get(DELIVERY_HEADER, "").strip()
    if not signature or not timestamp or not delivery_id:
        raise WebhookRejected("missing signature, timestamp or delivery id")
    if len(delivery_id) > 128:
        raise WebhookRejected("delivery id too long")
    try:
        sent_at = int(timestamp)
    except ValueError as error:
        raise WebhookRejected("unreadable timestamp") from error
    now = time.time() if now is None else now
    if abs(now - sent_at) > setting("WORDPRESS_WEBHOOK_TOLERANCE_SECONDS"):
        raise WebhookRejected("timestamp outside the window")
    if not constant_time_compare(
        sign(source.webhook_secret, timestamp, delivery_id, body), signature.strip()
    ):
        raise WebhookRejected("bad signature")
    return delivery_id


def verify_token(source: WordPressSource, token: str) -> None:
    if not token or not constant_time_compare(token, source.webhook_token):
        raise WebhookRejected("unknown token")


def accept(
    source: WordPressSource, body: bytes, content_type: str, delivery_id: str, authenticated_by: str
) -> tuple[WebhookDelivery, bool]:
    """Store the raw body before anything else; returns ``(delivery, is_replay)``.

    A replay is a delivery id seen before, or the same body from the same source within
    ``WORDPRESS_WEBHOOK_REPLAY_SECONDS`` whatever its id (a token URL sent twice, a double submit, a
    signed body re-sent under a new id). Deliveries of one source are accepted one at a time (the source
    row is locked), so two identical bodies arriving together store one.
    """
    digest = hashlib.sha256(body).hexdigest()
    window = timezone.now() - timedelta(seconds=setting("WORDPRESS_WEBHOOK_REPLAY_SECONDS"))
    try:
        with transaction.atomic():
            list(
                type(source)
                .objects.select_for_update(no_key=True)
                .filter(pk=source.pk)
                .values_list("pk", flat=True)
            )
            same = Q(body_sha256=digest, received_at__gte=window)
            if delivery_id:
                same |= Q(delivery_id=delivery_id)
            earlier = WebhookDelivery.objects.filter(same, source=source).order_by("pk").first()
            if earlier is not None:
                return earlier, True
            delivery = WebhookDelivery.objects.create(
                source=source,
                delivery_id=delivery_id,
                body=body,
                body_sha256=digest,
                content_type=content_type[:200],
                authenticated_by=authenticated_by,
            )
    except IntegrityError:
        return WebhookDelivery.objects.get(source=source, delivery_id=delivery_id), True
    return delivery, False


def schedule_processing(delivery: WebhookDelivery) -> None:
    """Hand the delivery to a job once stored; if the queue is down the periodic sweeper finds it pending."""
    transaction.on_commit(lambda: _enqueue_processing(delivery.pk))


def _enqueue_processing(delivery_id: int) -> None:
    try:
        enqueue("wordpress.jobs.process_delivery_job", delivery_id, queue="high")
    except Exception as error:  # noqa: BLE001 - Redis down must not lose an accepted body
        logger.warning("wordpress webhook %s waits for the sweeper: %r", delivery_id, error)


# ---- parsing ---------------------------------------------------------------------------------------


def parse_body(delivery: WebhookDelivery) -> tuple[str, Any]:
    """The delivery body as ``(kind, payload)``: the format a registered connector reads it in
    (``connectors.webhook_kind``), and the decoded form (a dict) or the parsed JSON."""
    body = bytes(delivery.body)
    content_type = delivery.content_type.split(";")[0].strip().lower()
    text = body.decode("utf-8", errors="replace")
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data") or (
        not text.lstrip().startswith(("{", "["))
    ):
        data = QueryDict(text, encoding="utf-8")
        flat = {key: (values[0] if len(values) == 1 else values) for key, values in data.lists()}
        return webhook_kind(flat, form_encoded=True), flat
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise RecordError(_("The webhook body is not valid JSON.")) from error
    except RecursionError as error:
        raise RecordError(_("The webhook body is nested too deeply.")) from error
    if _depth(payload) > MAX_JSON_DEPTH:
        raise RecordError(
            _("The webhook body is nested more than %(levels)s levels deep.") % {"levels": MAX_JSON_DEPTH}
        )
    return webhook_kind(payload, form_encoded=False), payload


def _depth(value: object) -> int:
    """How deeply lists and dicts nest in ``value`` (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def records_from_payload(
    source: WordPressSource, kind: str, payload: Any, fallback_id: str, received_at: datetime
) -> list[Record]:
    """Common records for a parsed webhook payload (``kind`` from ``parse_body``); a list is one record
    per item."""
    items = payload if isinstance(payload, list) else [payload]
    records = []
    for index, item in enumerate(items):
        item_fallback = fallback_id if len(items) == 1 else f"{fallback_id}-{index}"
        records.append(webhook_record(source, kind, item, item_fallback, received_at))
    return records


# ---- processing ------------------------------------------------------------------------------------


def process_delivery(delivery_id: int) -> WebhookDelivery | None:
    """Turn an accepted delivery into leads (or quarantined records), on its own. Safe to run twice."""
    read, _later = _read_together(delivery_id, 1, [])
    return read[0] if read else None


def process_pending(delivery_id: int, limit: int | None = None) -> list[WebhookDelivery]:
    """Read the delivery together with its source's other waiting bodies, oldest first (up to ``limit``):
    one page per form in one transaction, so a burst costs one intake per page rather than per body.

    If the batch fails, each body it held is read on its own (``process_delivery_safely``), so one bad
    body is recorded against itself only; the error of ``delivery_id``'s own body is raised. Returns
    the deliveries read. Safe to run twice: a body already read, or held by another worker, is skipped.
    """
    limit = setting("WORDPRESS_WEBHOOK_BATCH") if limit is None else limit
    claimed: list[int] = []
    try:
        read, later = _read_together(delivery_id, max(1, limit), claimed)
    except Exception as error:  # noqa: BLE001 - each body is tried again on its own below
        logger.warning("wordpress webhooks %s failed as a batch, reading one by one: %r", claimed, error)
        read, later = [], claimed or [delivery_id]
    own_error = None
    for pk in later:
        try:
            delivery = process_delivery_safely(pk)
        except Exception as error:  # noqa: BLE001 - one bad body must not stop the others
            logger.exception("wordpress webhook %s failed", pk)
            own_error = error if pk == delivery_id else own_error
            continue
        if delivery is not None:
            read.append(delivery)
    if own_error is not None:
        raise own_error
    return read


def _read_together(
    delivery_id: int, limit: int, claimed: list[int]
) -> tuple[list[WebhookDelivery], list[int]]:
    """Lock the delivery and up to ``limit - 1`` other pending ones of its source, and read them in one
    transaction. ``claimed`` receives the locked ids. Returns the deliveries read, and the ids left
    for reading one by one afterwards (a body repeating an entry already in the batch)."""
    with transaction.atomic():
        pending = WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            state=WebhookDelivery.State.PENDING
        )
        first = pending.select_related("source").filter(pk=delivery_id).first()
        if first is None:
            return [], []
        batch = [first]
        if limit > 1:
            batch += (
                pending.filter(source_id=first.source_id)
                .exclude(pk=first.pk)
                .order_by("received_at", "pk")[: limit - 1]
            )
        claimed.extend(delivery.pk for delivery in batch)
        read, later = _store_deliveries(first.source, batch)
    return read, later


def _store_deliveries(
    source: WordPressSource, batch: list[WebhookDelivery]
) -> tuple[list[WebhookDelivery], list[int]]:
    forms = {form.form_id: form for form in source.forms.select_related("brand", "default_service")}
    only_form = next(iter(forms.values())) if len(forms) == 1 else None
    pages: dict[str, list[Record]] = {}
    owners: dict[tuple[str, str], WebhookDelivery] = {}
    read, later = [], []
    for delivery in batch:
        routed = [
            (forms.get(str(item["form_id"])) or (only_form if not item["form_id"] else None), item)
            for item in _records_of(source, delivery)
        ]
        keys = {(form.form_id, str(item["external_id"])) for form, item in routed if form is not None}
        if keys & owners.keys():
            later.append(delivery.pk)
            continue
        owners.update(dict.fromkeys(keys, delivery))
        read.append(delivery)
        for form, item in routed:
            if form is None or item.get("error"):
                _quarantine_unrouted(source, item)
            else:
                pages.setdefault(form.form_id, []).append(item)
    erased: set[int] = set()
    for form_id, page in pages.items():
        counts = store_page(
            source, forms[form_id], page, origin=Submission.Origin.WEBHOOK, advance_cursor=False
        )
        if counts["erased"]:
            page_keys = [str(item["external_id"]) for item in page]
            for key in tombstones.erased_references(source.external_key, str(form_id), page_keys):
                erased.add(owners[(form_id, key)].pk)
    _mark_read(read, erased)
    return read, later


def _records_of(source: WordPressSource, delivery: WebhookDelivery) -> list[Record]:
    """The delivery's records; a body that cannot be parsed is one record carrying the error."""
    try:
        kind, payload = parse_body(delivery)
        return records_from_payload(source, kind, payload, f"wh-{delivery.pk}", delivery.received_at)
    except RecordError as error:
        unreadable = record(
            source,
            "",
            f"wh-{delivery.pk}",
            None,
            None,
            {"body": bytes(delivery.body).decode("utf-8", "replace")},
        )
        unreadable["error"] = str(error)
        return [unreadable]


def _quarantine_unrouted(source: WordPressSource, item: Record) -> None:
    """Keep a record that cannot be stored as a lead (unreadable, or for a form not configured)."""
    reason = item.get("error") or _("The form “%(form)s” is not configured for this source.") % {
        "form": item["form_id"]
    }
    sub, _created = Submission.objects.get_or_create(
        source=source,
        form_id=str(item["form_id"])[:32],
        external_id=str(item["external_id"])[:64],
        defaults={"payload": storable(item["raw"]), "origin": Submission.Origin.WEBHOOK},
    )
    if sub.state != Submission.State.STORED:
        quarantine(source, None, item, sub, reason)
        sub.save(update_fields=["state", "reason", "updated_at"])


def _mark_read(read: list[WebhookDelivery], erased: set[int]) -> None:
    """Mark the deliveries processed; the bodies about an erased person are not kept (their digests are)."""
    now = timezone.now()
    for delivery in read:
        delivery.state, delivery.processed_at, delivery.attempts = (
            WebhookDelivery.State.PROCESSED,
            now,
            delivery.attempts + 1,
        )
        if delivery.pk in erased:
            delivery.body = b""
    WebhookDelivery.objects.filter(pk__in=[delivery.pk for delivery in read]).update(
        state=WebhookDelivery.State.PROCESSED, processed_at=now, attempts=F("attempts") + 1
    )
    if erased:
        WebhookDelivery.objects.filter(pk__in=erased).update(body=b"")


def process_delivery_safely(delivery_id: int) -> WebhookDelivery | None:
    try:
        return process_delivery(delivery_id)
    except Exception as error:
        delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
        if delivery is not None:
            delivery.attempts += 1
            delivery.error = f"{type(error).__name__}: {error}"[:2000]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.state = WebhookDelivery.State.FAILED
            delivery.save(update_fields=["attempts", "error", "state"])
        raise


def sweep_deliveries(older_than: float | None = None) -> int:
    """Process deliveries still pending (their job never ran, e.g. Redis was down). Returns how many."""
    older_than = setting("WORDPRESS_SWEEP_AFTER_SECONDS") if older_than is None else older_than
    cutoff = timezone.now() - timedelta(seconds=older_than)
    pending = WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING, received_at__lte=cutoff)
    done = 0
    for delivery_id in pending.order_by("received_at").values_list("pk", flat=True)[:500]:
        try:
            done += len(process_pending(delivery_id))
        except Exception:  # noqa: BLE001 - one bad body must not stop the sweep
            logger.exception("wordpress webhook %s failed", delivery_id)
    return done
