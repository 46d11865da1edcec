"""What a receiver gets: the lead as it was at the event (ids, keys and amounts, no personal data) and the
JSON body of a delivery."""

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm.models import Brand, Lead, LostReason, PipelineStatus, Source

from .models import Delivery, OutboxEvent

MONEY_FIELDS = (
    "quote_amount",
    "quote_currency",
    "quoted_on",
    "expected_close_on",
    "won_amount",
    "won_currency",
    "won_on",
)


@dataclass(frozen=True)
class Lookups:
    """The small catalogues a payload names by key, read once per batch of events."""

    statuses: dict[int, tuple[str, str]]
    stages: dict[str, str]
    brands: dict[int, str]
    sources: dict[int, str]
    lost_reasons: dict[int, str]

    @classmethod
    def load(cls) -> "Lookups":
        statuses = {
            pk: (key, stage) for pk, key, stage in PipelineStatus.objects.values_list("pk", "key", "stage")
        }
        return cls(
            statuses=statuses,
            stages=dict(statuses.values()),
            brands=dict(Brand.objects.values_list("pk", "code")),
            sources=dict(Source.objects.values_list("pk", "key")),
            lost_reasons=dict(LostReason.objects.values_list("pk", "key")),
        )


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def lead_snapshot(lead: Lead, lookups: Lookups, status_key: str = "") -> dict[str, Any]:
    """The lead's part of a payload; ``status_key`` names the status the event moved it to."""
    key, stage = lookups.statuses.get(lead.status_id, ("", ""))
    if status_key:
        key, stage = status_key, lookups.stages.get(status_key, "")
    snapshot: dict[str, Any] = {
        "id": lead.pk,
        "status": key,
        "stage": stage,
        "assignee_id": lead.assignee_id,
        "brand": lookups.brands.get(lead.brand_id, ""),
        "service_id": lead.service_id,
        "source": lookups.sources.get(lead.source_id, "") if lead.source_id else "",
        "campaign_id": lead.campaign_id,
        "received_at": _plain(lead.received_at),
    }
    for name in MONEY_FIELDS:
        value = getattr(lead, name, None)
        if value not in (None, ""):
            snapshot[name] = _plain(value)
    lost_reason_id = getattr(lead, "lost_reason_id", None)
    if lost_reason_id:
        snapshot["lost_reason"] = lookups.lost_reasons.get(lost_reason_id, "")
    return snapshot


def body(delivery: Delivery, event: OutboxEvent) -> bytes:
    """The raw JSON body of a delivery: the same bytes on every attempt."""
    document = {
        "delivery_id": str(delivery.uid),
        "type": event.event_type,
        "occurred_at": event.occurred_at.isoformat(),
        "lead": event.payload.get("lead"),
    }
    if "data" in event.payload:
        document["data"] = event.payload["data"]
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
