"""Alerts: turning lead events and breaches into outbox rows, and delivering those rows exactly once.

Outbox rows are written in the transaction that wrote the cause (unique per rule, cause, recipient
and channel); a job delivers them after commit; the sweeper picks up whatever a lost job left behind.
"""

import hashlib
import logging
import os
import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.access import can_see_lead
from crm.models import CLOSED_STAGES, Lead, backfill_q

from . import rules
from .channels import DeliveryError
from .channels import email as email_channel
from .channels import whatsapp as whatsapp_channel
from .messages import Digest, Message, language_of, whatsapp_language
from .models import (
    Breach,
    Channel,
    Notification,
    Trigger,
    WhatsAppContact,
    trigger_of,
)

logger = logging.getLogger(__name__)
Status = Notification.Status
WINDOW = timedelta(hours=24)
BATCH = 200

# ---------------------------------------------------------------------------------------------
# Creating outbox rows


def quiet_until(spec, now):
    """When quiet hours hold an alert created at ``now``, the moment they end; else None."""
    start, end = spec.quiet_start, spec.quiet_end
    if not start or not end or start == end:
        return None
    local = timezone.localtime(now)
    clock = local.time()
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return release


class Row(NamedTuple):
    """An outbox row to insert (a tuple: no model instance is built in the lead's transaction)."""

    rule_id: int
    cause: str
    trigger: str
    recipient_id: int
    channel: str
    status: str
    next_attempt_at: datetime | None = None
    event_id: int | None = None
    lead_id: int | None = None
    context: dict | None = None


def _rows(snapshot, spec, cause, now, *, lead=None, event_id=None, assignee_id=None, context=None):
    held_until = quiet_until(spec, now)
    status = Status.DIGEST if spec.digest else Status.PENDING
    lead_id = lead.pk if lead is not None else None
    return [
        Row(spec.id, cause, spec.trigger, user_id, channel, status, held_until, event_id, lead_id, context)
        for user_id in snapshot.recipients(spec, lead, assignee_id)
        for channel in snapshot.channels_for(spec, user_id)
    ]


def rows_for_event(event, snapshot=None, now=None):
    """The outbox rows a lead event calls for (nothing is written, nothing is queried)."""
    trigger = trigger_of(event)
    if trigger is None:
        return []
    snapshot = snapshot or rules.current()
    specs = snapshot.by_trigger.get(trigger)
    if not specs:
        return []
    lead = event.lead
    if lead.skip_alerts or rules.is_backfill_arrival(event):
        return []
    _key, stage = snapshot.statuses.get(lead.status_id, ("", ""))
    assignee_id = lead.assignee_id
    if trigger == Trigger.ASSIGNED:
        assignee_id = (event.data or {}).get("to_id")
        if not assignee_id:
            return []
    now = now or timezone.now()
    cause = f"event:{event.pk}"
    rows = []
    for spec in specs:
        if trigger == Trigger.STATUS_CHANGED and spec.status_keys and event.to_value not in spec.status_keys:
            continue
        # Tags are added after the ``created`` event: they are checked at delivery.
        if not spec.matches_lead(lead, stage):
            continue
        rows.extend(_rows(snapshot, spec, cause, now, lead=lead, event_id=event.pk, assignee_id=assignee_id))
    return rows


def on_lead_event(sender, event, **kwargs):
    """Receiver of ``crm.signals.lead_event_recorded``: outbox rows in the event's own transaction."""
    if not settings.ALERTS_ENABLED:
        return
    rows = rows_for_event(event)
    if rows:
        save_rows(rows)


def on_lead_events(sender, events, **kwargs):
    """Receiver of ``crm.signals.lead_events_recorded``: the outbox of a whole batch in one INSERT."""
    if not settings.ALERTS_ENABLED or not events:
        return
    snapshot = rules.current()
    now = timezone.now()
    rows = [row for event in events for row in rows_for_event(event, snapshot, now)]
    if rows:
        save_rows(rows)


def save_rows(rows):
    """Insert outbox rows (a rerun of the same cause inserts nothing) and deliver them after commit."""
    insert_rows(rows)
    deliver_after_commit({row.cause for row in rows})


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
def _insert_sql(vendor, count, with_context):
    quote = connection.ops.quote_name
    inserted = _INSERTED if with_context else _INSERTED[:-1]
    constants = _CONSTANTS if with_context else {**_CONSTANTS, "context": "'{}'"}
    columns = ", ".join(quote(name) for name in (*inserted, *constants))
    values = "(" + ", ".join(["%s"] * len(inserted) + list(constants.values())) + ")"
    return (
        f"INSERT INTO {quote(Notification._meta.db_table)} ({columns}) "  # noqa: S608 - placeholders only
        f"VALUES {', '.join([values] * count)} ON CONFLICT DO NOTHING"
    )


def insert_rows(rows):
    """One ``INSERT ... ON CONFLICT DO NOTHING`` for the rows (split only past the driver's parameter limit).

    Plain SQL rather than ``bulk_create``: this runs inside every lead's transaction, where the ORM's
    per-field preparation cost more than the insert itself. Lead events have no context, and
    ``created_at`` is the database's default: nine parameters a row keep a typical lead's rows within
    psycopg's cached statements.
    """
    adapt = connection.ops.adapt_datetimefield_value
    with_context = any(row.context for row in rows)
    prepare_json = Notification._meta.get_field("context").get_db_prep_save
    params = []
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
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            count = min(size, len(rows) - start)
            cursor.execute(
                _insert_sql(connection.vendor, count, with_context),
                params[start * width : (start + count) * width],
            )


_pending = threading.local()


def deliver_after_commit(causes):
    """Enqueue delivery once the transaction commits: the first callback to run takes every pending cause."""
    pending = getattr(_pending, "causes", None)
    if pending is None:
        pending = _pending.causes = set()
    pending.update(causes)
    transaction.on_commit(_enqueue_pending)


def _enqueue_pending():
    causes = sorted(getattr(_pending, "causes", None) or ())
    _pending.causes = set()
    if not causes:
        return
    from core.jobs import is_embedded

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

    def __init__(self):
        self.lock = threading.Lock()
        self.queue = queue.Queue()
        self.thread = None
        self.pid = None

    def submit(self, causes):
        with self.lock:
            if self.thread is None or self.pid != os.getpid() or not self.thread.is_alive():
                self.queue = queue.Queue()
                self.pid = os.getpid()
                self.thread = threading.Thread(target=self._run, args=(self.queue,), daemon=True)
                self.thread.start()
            self.queue.put(causes)

    def flush(self):
        """Wait until every submitted wake-up was handled (tests)."""
        with self.lock:
            pending = self.queue if self.thread is not None else None
        if pending is not None:
            pending.join()

    @staticmethod
    def _run(work):
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


WAKE_KEY = "alerts:delivery-wanted"


def wake_worker(causes):
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


_flag_connections = {}


def _flag_connection():
    """A Redis client kept per queue URL: a new client per lead would open a new TCP connection."""
    from core.jobs import connection as redis_connection
    from core.jobs import is_embedded

    if is_embedded():
        return redis_connection(settings.ALERTS_QUEUE)
    url = settings.RQ_QUEUES[settings.ALERTS_QUEUE]["URL"]
    client = _flag_connections.get(url)
    if client is None:
        client = _flag_connections[url] = redis_connection(settings.ALERTS_QUEUE)
    return client


def clear_wake_flag():
    try:
        _flag_connection().delete(WAKE_KEY)
    except Exception:  # noqa: BLE001
        logger.warning("Could not clear the alert delivery flag.", exc_info=True)


def enqueue_delivery(causes=(), ids=()):
    """Ask a worker to deliver now; when the queue is unreachable the rows wait for the sweeper.

    Callers are outside any transaction (after commit, or the sweeper), so the job is pushed at once.
    """
    from core.jobs import get_queue

    from .jobs import deliver

    job_queue = get_queue(settings.ALERTS_QUEUE)
    push = getattr(job_queue, "original_enqueue_call", job_queue.enqueue_call)
    try:
        push(deliver, args=(list(causes), list(ids)))
    except Exception:  # noqa: BLE001 - Redis down: rows stay pending and the sweeper retries
        logger.warning("Could not enqueue alert delivery; the sweeper will retry.", exc_info=True)
        return False
    return True


def on_integration_failed(sender, kind, name, error, admin_url="", **kwargs):
    """Receiver of ``crm.signals.integration_failed``: one alert per source, error and day."""
    if not settings.ALERTS_ENABLED:
        return
    snapshot = rules.current()
    specs = snapshot.by_trigger.get(Trigger.INTEGRATION_FAILED)
    if not specs:
        return
    now = timezone.now()
    digest = hashlib.sha256(f"{kind}|{name}|{error}".encode()).hexdigest()[:16]
    cause = f"integration:{timezone.localdate(now).isoformat()}:{digest}"
    context = {"kind": str(kind), "name": str(name)[:200], "error": str(error)[:1000], "admin_url": admin_url}
    rows = []
    for spec in specs:
        rows.extend(_rows(snapshot, spec, cause, now, context=context))
    if rows:
        with transaction.atomic():
            save_rows(rows)


def check_breaches(now=None):
    """SLA and staleness checks: alert once per lead and breach (the same breach never twice).

    Backfilled leads (``crm.models.backfill_q``) have no SLA; they can still go stale.
    """
    now = now or timezone.now()
    snapshot = rules.current()
    lookback = timedelta(hours=settings.ALERTS_BREACH_LOOKBACK_HOURS)
    created = 0
    for trigger, field, unit in (
        (Trigger.SLA_UNASSIGNED, "received_at", timedelta(minutes=1)),
        (Trigger.SLA_NOT_CONTACTED, "assigned_at", timedelta(hours=1)),
        (Trigger.STALE, "last_activity_at", timedelta(days=1)),
    ):
        for spec in snapshot.by_trigger.get(trigger, ()):
            deadline = now - unit * spec.threshold
            leads = _breached_leads(spec, trigger, field, deadline, deadline - lookback)
            for lead in leads:
                created += _record_breach(snapshot, spec, lead, getattr(lead, field), now)
    return created


def _breached_leads(spec, trigger, field, deadline, oldest):
    queryset = (
        Lead.objects.filter(skip_alerts=False, **{f"{field}__lte": deadline, f"{field}__gt": oldest})
        .exclude(status__stage__in=CLOSED_STAGES)
        .exclude(Exists(Breach.objects.filter(rule_id=spec.id, lead=OuterRef("pk"), since=OuterRef(field))))
    )
    if trigger == Trigger.SLA_UNASSIGNED:
        queryset = queryset.filter(assignee__isnull=True).exclude(backfill_q())
    elif trigger == Trigger.SLA_NOT_CONTACTED:
        queryset = queryset.filter(assignee__isnull=False, first_contacted_at__isnull=True).exclude(
            backfill_q()
        )
    for name, values in (
        ("brand_id__in", spec.brand_ids),
        ("service_id__in", spec.service_ids),
        ("source_id__in", spec.source_ids),
        ("campaign_id__in", spec.campaign_ids),
    ):
        if values:
            queryset = queryset.filter(**{name: values})
    if spec.min_priority:
        queryset = queryset.filter(priority__gte=spec.min_priority)
    if spec.tags:
        queryset = queryset.filter(tagged_items__tag__name__in=spec.tags).distinct()
    return list(queryset.order_by("pk")[:1000])


def _record_breach(snapshot, spec, lead, since, now):
    with transaction.atomic():
        _breach, created = Breach.objects.get_or_create(rule_id=spec.id, lead=lead, since=since)
        if not created:
            return 0
        cause = f"{spec.trigger}:{lead.pk}:{int(since.timestamp())}"
        rows = _rows(
            snapshot,
            spec,
            cause,
            now,
            lead=lead,
            assignee_id=lead.assignee_id,
            context={"threshold": spec.threshold},
        )
        if rows:
            save_rows(rows)
        return len(rows)


# ---------------------------------------------------------------------------------------------
# Delivering


def claim(now, *, causes=(), ids=(), limit=BATCH):
    """Mark up to ``limit`` due rows as being sent by this worker and return their ids, WhatsApp first.

    One ``UPDATE ... RETURNING``. On PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``, so
    concurrent workers take disjoint rows without waiting; SQLite runs one writer at a time, and the
    ``status`` condition makes a row claimable once either way.
    """
    adapt = connection.ops.adapt_datetimefield_value
    where = ["status = %s", "(next_attempt_at IS NULL OR next_attempt_at <= %s)"]
    params = [Status.PENDING, adapt(now)]
    for column, values in (("cause", list(causes)), ("id", list(ids))):
        if values:
            where.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
            params += values
    # The picked ids are materialized once: as an ``IN (subquery ... LIMIT)`` the planner may run the
    # subquery again per row and claim more than ``limit`` rows.
    if connection.features.has_select_for_update_skip_locked:
        picked, lock = "AS MATERIALIZED", " FOR UPDATE SKIP LOCKED"
    else:
        picked, lock = "AS", ""
    table = connection.ops.quote_name(Notification._meta.db_table)
    sql = (
        f"WITH picked {picked} (SELECT id FROM {table} WHERE {' AND '.join(where)} "  # noqa: S608
        f"ORDER BY CASE WHEN channel = %s THEN 0 ELSE 1 END, id LIMIT %s{lock}) "
        f"UPDATE {table} SET status = %s, claimed_at = %s "
        f"WHERE status = %s AND id IN (SELECT id FROM picked) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, Channel.WHATSAPP, limit, Status.SENDING, adapt(now), Status.PENDING])
        return sorted(pk for (pk,) in cursor.fetchall())


def deliver(causes=(), ids=(), now=None):
    """Deliver the due rows of these causes (or ids), then whatever else is due, in batches.

    Draining the backlog lets one job send many rows over kept connections when leads arrive faster
    than single jobs run; the jobs that follow find nothing left and end at once.
    """
    handled = 0
    if causes or ids:
        current = now or timezone.now()
        claimed = claim(current, causes=causes, ids=ids)
        if claimed:
            send_claimed(claimed, current)
            handled += len(claimed)
    for _round in range(settings.ALERTS_DRAIN_BATCHES):
        current = now or timezone.now()
        claimed = claim(current)
        if not claimed:
            break
        send_claimed(claimed, current)
        handled += len(claimed)
    return handled


def _load(ids):
    """Claimed rows with their rule, lead and recipient; rows sharing a lead or a person share the object.

    Rows whose rule, lead or recipient was deleted meanwhile are skipped.
    """
    from crm.models import User

    from .models import AlertRule

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
            _skipped(notification, "gone")
            gone.append(notification)
            continue
        notification.rule, notification.recipient, notification.lead = rule, recipient, lead
        loaded.append(notification)
    record(gone)
    return loaded


def send_claimed(ids, now, force=False):
    """Send claimed rows: confirm conditions and visibility, render, send (WhatsApp first), record."""
    notifications = _load(ids)
    snapshot = rules.current()
    tags = _tags_of({n.lead_id for n in notifications if n.lead_id and _needs_tags(snapshot, n)})
    visible = {}
    emails, whatsapps = [], []
    for notification in notifications:
        notification.attempts += 1
        reason = None if force else _skip_reason(notification, snapshot, tags)
        if reason is None and notification.lead_id:
            key = (notification.recipient_id, notification.lead_id)
            if key not in visible:
                visible[key] = _may_see(notification.recipient, notification.lead)
            if not visible[key]:
                reason = "not_allowed"
        if reason:
            _skipped(notification, reason)
        elif notification.channel == Channel.EMAIL:
            emails.append(notification)
        else:
            whatsapps.append(notification)
    messages = MessageCache()
    windows = _open_windows(whatsapps, now)
    outgoing = []
    for notification in whatsapps:
        message, in_window = messages.get(notification), str(notification.recipient.whatsapp) in windows
        if in_window:
            message.render_whatsapp()
        outgoing.append((notification, message, in_window))
    pool = sender_pool()
    for task in [
        pool.submit(_send_whatsapp, n, message, in_window, now) for n, message, in_window in outgoing
    ]:
        task.result()
    for notification in emails:
        messages.get(notification).render_email()
    chunk = max(1, -(-len(emails) // max(1, settings.ALERTS_SEND_THREADS)))
    for task in [
        pool.submit(_send_emails, emails[start : start + chunk], now, messages)
        for start in range(0, len(emails), chunk)
    ]:
        task.result()
    record(notifications)


_pool_lock = threading.Lock()
_pool_state = {}


def sender_pool():
    """Sender threads kept for the life of the process, so each keeps its HTTP and SMTP connections."""
    size = max(1, settings.ALERTS_SEND_THREADS)
    with _pool_lock:
        if _pool_state.get("key") != (os.getpid(), size):
            _pool_state["pool"] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="alerts-send")
            _pool_state["key"] = (os.getpid(), size)
        return _pool_state["pool"]


_RESULTS = ("status", "attempts", "next_attempt_at", "error_code", "error", "needs_admin", "sent_at")


def record(notifications, size=250):
    """Store the outcome of claimed rows: one UPDATE per group of rows with the same outcome.

    Only rows still ``sending`` change: a row the sweeper handed back meanwhile is not overwritten.
    """
    adapt = connection.ops.adapt_datetimefield_value
    groups = defaultdict(list)
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


class MessageCache:
    """One rendering per alert content and language: the rows of one cause share it across rules and people."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = {}

    def get(self, notification):
        language = language_of(notification.recipient)
        rule = notification.rule
        key = (
            notification.cause,
            notification.trigger,
            notification.context.get("threshold", rule.threshold),
            rule.message_es if language == "es" else rule.message_en,
            language,
        )
        with self.lock:
            message = self.messages.get(key)
            if message is None:
                message = self.messages[key] = Message(notification, language)
        return message


def _needs_tags(snapshot, notification):
    spec = snapshot.rules.get(notification.rule_id)
    return spec is not None and bool(spec.tags)


def _tags_of(lead_ids):
    found = defaultdict(set)
    if lead_ids:
        from crm.models import TaggedLead

        for lead_id, name in TaggedLead.objects.filter(content_object_id__in=lead_ids).values_list(
            "content_object_id", "tag__name"
        ):
            found[lead_id].add(name)
    return found


def _skip_reason(notification, snapshot, tags):
    spec = snapshot.rules.get(notification.rule_id)
    if spec is None:
        return "rule_inactive"
    lead = notification.lead
    if lead is None:
        return None
    if lead.skip_alerts:
        return "lead_muted"
    if notification.trigger != Trigger.STATUS_CHANGED and not spec.matches_lead(
        lead, lead.status.stage, tags.get(lead.pk, set())
    ):
        return "conditions"
    return None


def _may_see(user, lead):
    return can_see_lead(user, lead)


def _skipped(notification, reason):
    """Skip a row; the reason is a code (``Notification.get_error_display`` shows it translated)."""
    notification.status = Status.SKIPPED
    notification.error_code = reason
    notification.error = ""


def _succeeded(notification, provider_id, now):
    notification.status = Status.SENT
    notification.provider_id = provider_id or ""
    notification.sent_at = now
    notification.error_code = notification.error = ""
    notification.needs_admin = False
    notification.next_attempt_at = None


def _failed(notification, error, now, held_status=Status.PENDING):
    notification.error_code = error.code
    notification.error = error.message[:2000]
    notification.needs_admin = error.needs_admin
    if error.transient and notification.attempts < settings.ALERTS_MAX_ATTEMPTS:
        notification.status = held_status
        notification.next_attempt_at = now + backoff(notification.attempts)
    else:
        notification.status = Status.FAILED
        notification.next_attempt_at = None


def backoff(attempts):
    return timedelta(seconds=settings.ALERTS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


def _open_windows(notifications, now):
    numbers = {
        str(n.recipient.whatsapp)
        for n in notifications
        if n.channel == Channel.WHATSAPP and n.recipient.whatsapp
    }
    if not numbers:
        return set()
    return set(
        WhatsAppContact.objects.filter(phone__in=numbers, last_inbound_at__gt=now - WINDOW).values_list(
            "phone", flat=True
        )
    )


def _send_whatsapp(notification, message, in_window, now, template=None):
    try:
        to = whatsapp_channel.valid_number(notification.recipient.whatsapp)
        provider_id = whatsapp_channel.send(
            to,
            text=message.whatsapp_text if in_window else None,
            template=template or settings.WHATSAPP_TEMPLATE_NAME,
            language=whatsapp_language(message.language),
            parameters=message.whatsapp_parameters,
        )
    except DeliveryError as error:
        _failed(notification, error, now)
        return False
    _succeeded(notification, provider_id, now)
    return True


def _send_emails(notifications, now, messages):
    """Send over this thread's kept SMTP connection (one connection serves many batches)."""
    for notification in notifications:
        message = messages.get(notification)
        try:
            email_channel.send_kept(notification.recipient.email, message.subject, message.text, message.html)
        except DeliveryError as error:
            _failed(notification, error, now)
        else:
            _succeeded(notification, "", now)


def resend(notification, actor=None):
    """Send a notification again now, whatever happened to it before (admin action)."""
    now = timezone.now()
    updated = (
        Notification.objects.filter(pk=notification.pk)
        .exclude(status=Status.SENDING)
        .update(status=Status.SENDING, claimed_at=now, attempts=0, next_attempt_at=None)
    )
    if updated:
        send_claimed([notification.pk], now, force=True)
    notification.refresh_from_db()
    return notification


# ---------------------------------------------------------------------------------------------
# Periodic jobs


def sweep(now=None):
    """Re-enqueue rows a lost job left behind: due pending rows and rows stuck in ``sending``."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.ALERTS_STUCK_AFTER_SECONDS)
    Notification.objects.filter(status=Status.SENDING, claimed_at__lt=stuck_before).update(
        status=Status.PENDING, next_attempt_at=now
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


def send_digests(now=None):
    """The daily digest: every held row of a recipient and channel in one message."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Notification.objects.filter(status=Status.DIGEST)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=ids).update(status=Status.SENDING, claimed_at=now)
    groups = defaultdict(list)
    snapshot = rules.current()
    notifications = _load(ids)
    tags = _tags_of({n.lead_id for n in notifications if n.lead_id})
    for notification in notifications:
        notification.attempts += 1
        reason = None
        if notification.lead_id:
            if not _may_see(notification.recipient, notification.lead):
                reason = "not_allowed"
            else:
                reason = _skip_reason(notification, snapshot, tags)
        if reason:
            _skipped(notification, reason)
        groups[(notification.recipient_id, notification.channel)].append(notification)
    for (_recipient_id, channel), members in groups.items():
        wanted = [n for n in members if n.status == Status.SENDING]
        if wanted:
            _send_digest(wanted, channel, now)
    record(notifications)
    return len(ids)


def _send_digest(notifications, channel, now):
    recipient = notifications[0].recipient
    digest = Digest(notifications, language_of(recipient))
    error, provider_id = None, ""
    try:
        if channel == Channel.EMAIL:
            with email_channel.connection() as backend:
                email_channel.send(backend, recipient.email, digest.subject, digest.text, digest.html)
        else:
            to = whatsapp_channel.valid_number(recipient.whatsapp)
            windows = _open_windows(notifications, now)
            provider_id = whatsapp_channel.send(
                to,
                text=digest.whatsapp_text if str(recipient.whatsapp) in windows else None,
                template=settings.WHATSAPP_DIGEST_TEMPLATE_NAME,
                language=whatsapp_language(digest.language),
                parameters=digest.whatsapp_parameters,
            )
    except DeliveryError as failure:
        error = failure
    for notification in notifications:
        if error:
            _failed(notification, error, now, held_status=Status.DIGEST)
            notification.next_attempt_at = None
        else:
            _succeeded(notification, provider_id, now)


# ---------------------------------------------------------------------------------------------
# WhatsApp webhook

STATUS_ORDER = {Status.SENT: 1, Status.DELIVERED: 2, Status.READ: 3}


def record_whatsapp_webhook(payload):
    """Apply a Cloud API webhook: message statuses and inbound messages (which open the 24h window)."""
    statuses, inbound = 0, 0
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            for status in value.get("statuses") or []:
                statuses += record_status(status)
            for message in value.get("messages") or []:
                inbound += record_inbound(message)
    return statuses, inbound


def _when(timestamp):
    try:
        return datetime.fromtimestamp(int(timestamp), tz=timezone.get_current_timezone())
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def record_status(status):
    provider_id = str(status.get("id") or "")
    state = str(status.get("status") or "")
    if not provider_id or state not in ("sent", "delivered", "read", "failed"):
        return 0
    when = _when(status.get("timestamp"))
    updated = 0
    for notification in Notification.objects.filter(provider_id=provider_id):
        if state == "failed":
            errors = status.get("errors") or [{}]
            notification.status = Status.FAILED
            notification.error_code = str(errors[0].get("code", ""))[:40]
            notification.error = str(errors[0].get("title") or errors[0].get("message") or "")[:2000]
        elif STATUS_ORDER.get(state, 0) > STATUS_ORDER.get(notification.status, 0):
            notification.status = state
            if state == "delivered":
                notification.delivered_at = when
            if state == "read":
                notification.read_at = when
                notification.delivered_at = notification.delivered_at or when
        else:
            continue
        notification.save(update_fields=["status", "error_code", "error", "delivered_at", "read_at"])
        updated += 1
    return updated


def record_inbound(message):
    sender = str(message.get("from") or "").strip()
    if not sender.isdigit():
        return 0
    WhatsAppContact.objects.update_or_create(
        phone=f"+{sender}", defaults={"last_inbound_at": _when(message.get("timestamp"))}
    )
    return 1
