"""Alerts: turning lead events and breaches into outbox rows, and delivering those rows exactly once.

Outbox rows are written in the transaction that wrote the cause (unique per rule, cause, recipient
and channel); a job delivers them after commit; the sweeper picks up whatever a lost job left behind.
"""

import hashlib
import logging
import os
import queue
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.access import can_see_lead
from crm.models import CLOSED_STAGES, Lead

from . import rules
from .channels import DeliveryError
from .channels import email as email_channel
from .channels import whatsapp as whatsapp_channel
from .messages import Digest, Message, language_of, whatsapp_language
from .models import (
    LEAD_EVENT_TRIGGERS,
    Breach,
    Channel,
    Notification,
    Trigger,
    WhatsAppContact,
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


def _rows(snapshot, spec, cause, now, *, lead=None, event=None, assignee_id=None, context=None):
    held_until = quiet_until(spec, now)
    status = Status.DIGEST if spec.digest else Status.PENDING
    rows = []
    for user_id in snapshot.recipients(spec, lead, assignee_id):
        for channel in snapshot.channels_for(spec, user_id):
            rows.append(
                Notification(
                    rule_id=spec.id,
                    cause=cause,
                    trigger=spec.trigger,
                    event=event,
                    lead=lead,
                    recipient_id=user_id,
                    channel=channel,
                    status=status,
                    next_attempt_at=held_until,
                    context=context or {},
                    created_at=now,
                )
            )
    return rows


def rows_for_event(event, snapshot=None):
    """The outbox rows a lead event calls for (nothing is written)."""
    trigger = LEAD_EVENT_TRIGGERS.get(event.kind)
    if trigger is None:
        return []
    snapshot = snapshot or rules.current()
    specs = snapshot.by_trigger.get(trigger)
    if not specs:
        return []
    lead = event.lead
    if lead.skip_alerts:
        return []
    _key, stage = snapshot.statuses.get(lead.status_id, ("", ""))
    assignee_id = lead.assignee_id
    if trigger == Trigger.ASSIGNED:
        assignee_id = (event.data or {}).get("to_id")
        if not assignee_id:
            return []
    now = timezone.now()
    cause = f"event:{event.pk}"
    rows = []
    for spec in specs:
        if trigger == Trigger.STATUS_CHANGED and spec.status_keys and event.to_value not in spec.status_keys:
            continue
        # Tags are added after the ``created`` event: they are checked at delivery.
        if not spec.matches_lead(lead, stage):
            continue
        rows.extend(_rows(snapshot, spec, cause, now, lead=lead, event=event, assignee_id=assignee_id))
    return rows


def on_lead_event(sender, event, **kwargs):
    """Receiver of ``crm.signals.lead_event_recorded``: outbox rows in the event's own transaction."""
    if not settings.ALERTS_ENABLED:
        return
    rows = rows_for_event(event)
    if rows:
        save_rows(rows)


def save_rows(rows):
    """Insert outbox rows (a rerun of the same cause inserts nothing) and deliver them after commit."""
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    deliver_after_commit({row.cause for row in rows})


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
    from intralog.jobs import is_embedded

    if settings.ALERTS_BACKGROUND_WAKE and not is_embedded():
        waker.submit(causes)
    else:
        wake_worker(causes)


class Waker:
    """Wakes the worker from a background thread, so a lead's commit does not wait for Redis.

    If the process dies before the thread runs, the rows are pending and the sweeper sends them.
    """

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
    from intralog.jobs import connection, is_embedded

    if is_embedded():
        return connection(settings.ALERTS_QUEUE)
    url = settings.RQ_QUEUES[settings.ALERTS_QUEUE]["URL"]
    client = _flag_connections.get(url)
    if client is None:
        client = _flag_connections[url] = connection(settings.ALERTS_QUEUE)
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
    from intralog.jobs import get_queue

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
    """SLA and staleness checks: alert once per lead and breach (the same breach never twice)."""
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
        queryset = queryset.filter(assignee__isnull=True)
    elif trigger == Trigger.SLA_NOT_CONTACTED:
        queryset = queryset.filter(assignee__isnull=False, first_contacted_at__isnull=True)
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


def claim(queryset, now, limit=BATCH):
    """Mark due rows as being sent by us; rows another worker holds are left alone."""
    with transaction.atomic():
        ids = list(queryset.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if ids:
            Notification.objects.filter(pk__in=ids).update(status=Status.SENDING, claimed_at=now)
    return ids


def deliver(causes=(), ids=(), now=None):
    """Deliver the due rows of these causes (or ids), then whatever else is due, in batches.

    Draining the backlog lets one job send many rows over shared connections when leads arrive
    faster than single jobs run; the jobs that follow find nothing left and end at once.
    """
    now = now or timezone.now()
    due = Notification.objects.due(now)
    own = due.filter(cause__in=list(causes)) if causes else due.filter(pk__in=list(ids))
    claimed = claim(own, now) if (causes or ids) else []
    handled = 0
    for _round in range(settings.ALERTS_DRAIN_BATCHES + 1):
        if len(claimed) < BATCH and settings.ALERTS_DRAIN_BATCHES:
            claimed += claim(due.exclude(pk__in=claimed).order_by("pk"), now, BATCH - len(claimed))
        if not claimed:
            break
        send_claimed(claimed, now)
        handled += len(claimed)
        claimed = []
        now = timezone.now()
    return handled


def _load(ids):
    return list(
        Notification.objects.filter(pk__in=ids)
        .select_related(
            "rule",
            "lead__brand",
            "lead__status",
            "lead__service",
            "lead__source",
            "lead__assignee",
            "recipient__wagtail_userprofile",
        )
        .order_by("pk")
    )


def send_claimed(ids, now, force=False):
    """Send claimed rows: confirm conditions and visibility, render, send, record the outcome."""
    notifications = _load(ids)
    snapshot = rules.current()
    tags = _tags_of({n.lead_id for n in notifications if n.lead_id and _needs_tags(snapshot, n)})
    visible = {}
    windows = _open_windows(notifications, now)
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
    with ThreadPoolExecutor(max_workers=settings.ALERTS_SEND_THREADS) as pool:
        tasks = [
            pool.submit(_send_whatsapp, notification, messages.get(notification), windows, now)
            for notification in whatsapps
        ]
        chunk = max(1, -(-len(emails) // max(1, settings.ALERTS_SEND_THREADS)))
        tasks += [
            pool.submit(_send_emails, emails[start : start + chunk], now, messages)
            for start in range(0, len(emails), chunk)
        ]
        for task in tasks:
            task.result()
    Notification.objects.bulk_update(
        notifications,
        [
            "status",
            "attempts",
            "next_attempt_at",
            "error_code",
            "error",
            "needs_admin",
            "provider_id",
            "sent_at",
        ],
    )


class MessageCache:
    """One rendering per lead, rule, trigger and language (many recipients share an alert)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = {}

    def get(self, notification):
        language = language_of(notification.recipient)
        key = (notification.cause, notification.rule_id, language)
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
    notification.status = Status.SKIPPED
    notification.error_code = reason
    notification.error = {
        "not_allowed": "The recipient may not see this lead.",
        "conditions": "The lead no longer matches the rule.",
        "rule_inactive": "The rule is no longer active.",
        "lead_muted": "Alerts are off for this lead.",
    }.get(reason, reason)


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


def _send_whatsapp(notification, message, windows, now, template=None):
    try:
        to = whatsapp_channel.valid_number(notification.recipient.whatsapp)
        in_window = str(notification.recipient.whatsapp) in windows
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


def _send_emails(notifications, now, messages=None):
    messages = messages or MessageCache()
    try:
        with email_channel.connection() as backend:
            for notification in notifications:
                _send_email(backend, notification, messages.get(notification), now)
    except DeliveryError as error:
        for notification in notifications:
            if notification.status == Status.SENDING:
                _failed(notification, error, now)


def _send_email(backend, notification, message, now, held_status=Status.PENDING):
    try:
        email_channel.send(backend, notification.recipient.email, message.subject, message.text, message.html)
    except DeliveryError as error:
        _failed(notification, error, now, held_status)
        return False
    _succeeded(notification, "", now)
    return True


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
    handled = []
    for (_recipient_id, channel), notifications in groups.items():
        handled.extend(notifications)
        wanted = [n for n in notifications if n.status == Status.SENDING]
        if wanted:
            _send_digest(wanted, channel, now)
    Notification.objects.bulk_update(
        handled,
        [
            "status",
            "attempts",
            "next_attempt_at",
            "error_code",
            "error",
            "needs_admin",
            "provider_id",
            "sent_at",
        ],
    )
    return len(handled)


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
