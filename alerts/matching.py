"""Which alerts a cause calls for, and whether an alert still holds when it is due.

Pure rules over the in-memory snapshot (``alerts.rules``): the outbox rows a lead event, an integration
failure or an SLA breach calls for, quiet hours, and the checks repeated at delivery.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from crm.access import can_see_lead
from crm.models import CLOSED_STAGES, Lead, LeadEvent, TaggedLead, User, backfill_q

from . import rules
from .models import Breach, Notification, Trigger, trigger_of
from .rules import RuleSpec, Snapshot

Status = Notification.Status


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
    context: dict[str, Any] | None = None


def quiet_until(spec: RuleSpec, now: datetime) -> datetime | None:
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


def rows_for_rule(
    snapshot: Snapshot,
    spec: RuleSpec,
    cause: str,
    now: datetime,
    *,
    lead: Lead | None = None,
    event_id: int | None = None,
    assignee_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> list[Row]:
    """One row per person the rule reaches and channel they did not mute."""
    held_until = quiet_until(spec, now)
    status = Status.DIGEST if spec.digest else Status.PENDING
    lead_id = lead.pk if lead is not None else None
    return [
        Row(spec.id, cause, spec.trigger, user_id, channel, status, held_until, event_id, lead_id, context)
        for user_id in snapshot.recipients(spec, lead, assignee_id)
        for channel in snapshot.channels_for(spec, user_id)
    ]


def rows_for_event(
    event: LeadEvent, snapshot: Snapshot | None = None, now: datetime | None = None
) -> list[Row]:
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
        rows.extend(
            rows_for_rule(snapshot, spec, cause, now, lead=lead, event_id=event.pk, assignee_id=assignee_id)
        )
    return rows


def rows_for_integration_failure(
    snapshot: Snapshot, kind: object, name: object, error: object, admin_url: str, now: datetime
) -> list[Row]:
    """One alert per failing source, error and day."""
    specs = snapshot.by_trigger.get(Trigger.INTEGRATION_FAILED)
    if not specs:
        return []
    digest = hashlib.sha256(f"{kind}|{name}|{error}".encode()).hexdigest()[:16]
    cause = f"integration:{timezone.localdate(now).isoformat()}:{digest}"
    context = {"kind": str(kind), "name": str(name)[:200], "error": str(error)[:1000], "admin_url": admin_url}
    return [row for spec in specs for row in rows_for_rule(snapshot, spec, cause, now, context=context)]


# The breach triggers: the lead field their clock starts from, and the unit of the rule's threshold.
BREACHES = (
    (Trigger.SLA_UNASSIGNED, "received_at", timedelta(minutes=1)),
    (Trigger.SLA_NOT_CONTACTED, "assigned_at", timedelta(hours=1)),
    (Trigger.STALE, "last_activity_at", timedelta(days=1)),
)


def breached_leads(spec: RuleSpec, field: str, deadline: datetime, oldest: datetime) -> list[Lead]:
    """Open leads whose ``field`` passed the rule's deadline (since ``oldest``) and were not alerted yet.

    Backfilled leads (``crm.models.backfill_q``) have no SLA; they can still go stale.
    """
    queryset: QuerySet[Lead] = (
        Lead.objects.filter(skip_alerts=False, **{f"{field}__lte": deadline, f"{field}__gt": oldest})
        .exclude(status__stage__in=CLOSED_STAGES)
        .exclude(Exists(Breach.objects.filter(rule_id=spec.id, lead=OuterRef("pk"), since=OuterRef(field))))
    )
    if spec.trigger == Trigger.SLA_UNASSIGNED:
        queryset = queryset.filter(assignee__isnull=True).exclude(backfill_q())
    elif spec.trigger == Trigger.SLA_NOT_CONTACTED:
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


# ---------------------------------------------------------------------------------------------
# At delivery


def needs_tags(snapshot: Snapshot, notification: Notification) -> bool:
    spec = snapshot.rules.get(notification.rule_id)
    return spec is not None and bool(spec.tags)


def tags_of(lead_ids: Iterable[int]) -> dict[int, set[str]]:
    """The tag names of these leads: one query (none without leads)."""
    found: dict[int, set[str]] = defaultdict(set)
    lead_ids = set(lead_ids)
    if lead_ids:
        for lead_id, name in TaggedLead.objects.filter(content_object_id__in=lead_ids).values_list(
            "content_object_id", "tag__name"
        ):
            found[lead_id].add(name)
    return found


def skip_reason(notification: Notification, snapshot: Snapshot, tags: dict[int, set[str]]) -> str | None:
    """Why a due row should not go out any more (a code ``Notification.get_error_display`` explains)."""
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


def may_see(person: User, lead: Lead) -> bool:
    return can_see_lead(person, lead)
