"""Active alert rules and the people they reach, held in memory so lead writes pay for one insert.

The snapshot (``core.snapshots``) reloads when any process saves a rule, a user or a preference, and at
least every few minutes.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import time as clock_time
from typing import Any

from core.snapshots import ProcessSnapshot
from crm.models import Lead, LeadEvent, PipelineStatus, Role, Stage, User

from .models import AlertPreferences, AlertRule


@dataclass(frozen=True)
class RuleSpec:
    id: int
    trigger: str
    threshold: int
    status_keys: frozenset[str]
    brand_ids: frozenset[int]
    service_ids: frozenset[int]
    source_ids: frozenset[int]
    campaign_ids: frozenset[int]
    min_priority: int | None
    tags: frozenset[str]
    include_junk: bool
    notify_assignee: bool
    notify_brand_managers: bool
    user_ids: frozenset[int]
    role: str
    channels: tuple[str, ...]
    digest: bool
    quiet_start: clock_time | None
    quiet_end: clock_time | None

    @classmethod
    def from_rule(cls, rule: AlertRule) -> "RuleSpec":
        return cls(
            id=rule.pk,
            trigger=rule.trigger,
            threshold=rule.threshold,
            status_keys=frozenset(status.key for status in rule.statuses.all()),
            brand_ids=frozenset(brand.pk for brand in rule.brands.all()),
            service_ids=frozenset(service.pk for service in rule.services.all()),
            source_ids=frozenset(source.pk for source in rule.sources.all()),
            campaign_ids=frozenset(campaign.pk for campaign in rule.campaigns.all()),
            min_priority=rule.min_priority,
            tags=frozenset(tag.strip().lower() for tag in rule.tags.split(",") if tag.strip()),
            include_junk=rule.include_junk,
            notify_assignee=rule.notify_assignee,
            notify_brand_managers=rule.notify_brand_managers,
            user_ids=frozenset(user.pk for user in rule.users.all()),
            role=rule.role,
            channels=tuple(rule.channels),
            digest=rule.delivery == rule.Delivery.DIGEST,
            quiet_start=rule.quiet_hours_start,
            quiet_end=rule.quiet_hours_end,
        )

    def matches_lead(self, lead: Lead, stage: str, tag_names: set[str] | None = None) -> bool:
        """The rule's conditions on a lead (tags only when ``tag_names`` is given)."""
        if stage == Stage.JUNK and not self.include_junk:
            return False
        if self.brand_ids and lead.brand_id not in self.brand_ids:
            return False
        if self.service_ids and lead.service_id not in self.service_ids:
            return False
        if self.source_ids and lead.source_id not in self.source_ids:
            return False
        if self.campaign_ids and lead.campaign_id not in self.campaign_ids:
            return False
        if self.min_priority and lead.priority < self.min_priority:
            return False
        return not (
            self.tags and tag_names is not None and not self.tags & {name.lower() for name in tag_names}
        )


def is_backfill_arrival(event: LeadEvent) -> bool:
    """Whether ``event`` is part of a lead's arrival (its creation, classification, automatic assignment)
    and the lead is past demand imported late (``crm.models.backfill_q``): no rule alerts about it.

    Later events of such a lead (a person assigns it, moves it on) alert as any other lead's.
    """
    lead = event.lead
    return event.created_at <= lead.received_at and lead.is_backfill


@dataclass
class Snapshot:
    rules: dict[int, RuleSpec] = field(default_factory=dict)
    by_trigger: dict[str, list[RuleSpec]] = field(default_factory=dict)
    managers_by_brand: dict[int, list[int]] = field(default_factory=dict)
    members_by_role: dict[str, list[int]] = field(default_factory=dict)
    active_user_ids: frozenset[int] = frozenset()
    muted: dict[int, frozenset[str]] = field(default_factory=dict)
    statuses: dict[int, tuple[str, str]] = field(default_factory=dict)

    def recipients(
        self, spec: RuleSpec, lead: Lead | None = None, assignee_id: int | None = None
    ) -> list[int]:
        """Active users a rule reaches for a lead (or, without a lead, for the rule's brands)."""
        ids = set(spec.user_ids)
        if spec.notify_assignee and assignee_id:
            ids.add(assignee_id)
        if spec.notify_brand_managers:
            brand_ids = [lead.brand_id] if lead is not None else (spec.brand_ids or self.managers_by_brand)
            for brand_id in brand_ids:
                ids.update(self.managers_by_brand.get(brand_id, ()))
        if spec.role:
            ids.update(self.members_by_role.get(spec.role, ()))
        return sorted(ids & self.active_user_ids)

    def channels_for(self, spec: RuleSpec, user_id: int) -> list[str]:
        muted = self.muted.get(user_id, ())
        return [channel for channel in spec.channels if f"{spec.trigger}:{channel}" not in muted]


def current() -> Snapshot:
    """The snapshot, reloaded when stale."""
    return _snapshot.get()


def invalidate(**kwargs: Any) -> None:
    """Tell every process to reload the rules (connected to the signals of what they depend on)."""
    _snapshot.invalidate()


def load() -> Snapshot:
    rules = AlertRule.objects.filter(is_active=True).prefetch_related(
        "statuses", "brands", "services", "sources", "campaigns", "users"
    )
    specs = {rule.pk: RuleSpec.from_rule(rule) for rule in rules}
    by_trigger = defaultdict(list)
    for spec in specs.values():
        by_trigger[spec.trigger].append(spec)
    active, by_role = set(), defaultdict(list)
    for pk, role in User.objects.filter(is_active=True).values_list("pk", "role"):
        active.add(pk)
        by_role[role].append(pk)
    managers = defaultdict(list)
    for user_id, brand_id in User.brands.through.objects.filter(
        user__role=Role.MANAGER, user__is_active=True
    ).values_list("user_id", "brand_id"):
        managers[brand_id].append(user_id)
    muted = {
        user_id: frozenset(keys) for user_id, keys in AlertPreferences.objects.values_list("user_id", "muted")
    }
    statuses = {
        pk: (key, stage) for pk, key, stage in PipelineStatus.objects.values_list("pk", "key", "stage")
    }
    return Snapshot(
        rules=specs,
        by_trigger=dict(by_trigger),
        managers_by_brand=dict(managers),
        members_by_role=dict(by_role),
        active_user_ids=frozenset(active),
        muted=muted,
        statuses=statuses,
    )


_snapshot = ProcessSnapshot("alerts:snapshot-version", load)
