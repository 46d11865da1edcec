"""New leads: what every channel hands over (``LeadData``) and the one way it becomes a lead.

``create_lead`` and its batch form ``create_leads`` classify each lead, link it to the lead it repeats
and assign it before saving it, then write its events and log entries (``crm.events``) in the same
transaction. ``create_lead`` sends ``crm.signals.lead_event_recorded`` per event; ``create_leads`` sends
``crm.signals.lead_events_recorded`` once instead.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db import models, transaction
from django.db.models.signals import m2m_changed
from django.utils import timezone

from core.bulk import build, bulk_insert, insert_rows, reserve_ids

from . import assignment, classification, duplicates, lead_fields, tombstones
from .assignment import rule_note
from .classification import Classification
from .duplicates import DUPLICATE_TAG, duplicate_event, relink_event
from .events import Actor, log_events, new_event
from .models import (
    AssignmentRule,
    Brand,
    ClassificationRule,
    Lead,
    LeadEvent,
    PipelineStatus,
    Stage,
    TaggedLead,
    User,
)
from .normalise import phone_to_e164
from .search import lead_search_text
from .signals import lead_event_recorded, lead_events_recorded


class PersonErased(ValueError):
    """The person's data was erased (a tombstone matches the reference, email or phone): no lead is made."""


class LeadData(lead_fields.FieldValues):
    """Normalised input for a new lead, whatever channel it came from: ``brand`` and any field of
    ``crm.lead_fields`` an intake path fills, by keyword; when it was submitted, its tags, who entered it
    and, when the channel already knows the lead is junk (e.g. its website marked it spam), why (it is
    created closed). ``skip_alerts``: nobody is alerted about it (an import asked for no alerts)."""

    def __init__(
        self,
        brand: Brand,
        *,
        submitted_at: datetime | None = None,
        tags: list[str] | None = None,
        created_by: User | None = None,
        junk_reason: str = "",
        skip_alerts: bool = False,
        **values: Any,
    ) -> None:
        values["brand"] = brand
        self.fill(values)
        self.submitted_at = submitted_at
        self.tags = [] if tags is None else tags
        self.created_by = created_by
        self.junk_reason = junk_reason
        self.skip_alerts = skip_alerts


@transaction.atomic
def create_lead(data: LeadData, actor: Actor = None, *, lookups: NewLeadLookups | None = None) -> Lead:
    """Create a lead, classify it, link it to the lead it repeats and assign it. Returns the lead.

    Classification and duplicate detection run before the lead is saved, so the ``created`` event
    (and whatever listens to it) already sees the final status, ``skip_alerts`` and ``duplicate_of``.
    Junk leads are not auto-assigned. Raises ``IntegrityError`` when a lead with the same external
    reference exists. ``lookups`` (a ``NewLeadLookups``) shares the rules and statuses between calls.
    Sends ``lead_event_recorded`` once per event. Raises ``PersonErased`` when a tombstone matches the
    draft's external reference, email or phone.
    """
    if tombstones.is_erased(data):
        raise PersonErased(data.external_id)
    return _create_leads([data], actor, lookups, batch=False)[0]


@transaction.atomic
def create_leads(
    drafts: Iterable[LeadData],
    actor: Actor = None,
    *,
    lookups: NewLeadLookups | None = None,
    refs_checked: bool = False,
) -> list[Lead | None]:
    """``create_lead`` for a batch of ``LeadData``, in a few queries whatever the batch size.

    Same leads, events, log entries, tags, duplicates and assignments as creating them one by one in
    order (the earliest submission sharing a contact is the original, see ``crm.duplicates``). Returns one item per
    draft: the lead, or None when a lead with its external reference exists (or came earlier in the
    batch). Sends ``lead_events_recorded`` once with every event instead of ``lead_event_recorded``;
    each event's ``lead`` is the lead as it was when that event happened. ``refs_checked``: the caller
    has just read that no lead has these (distinct) external references, so they are not read again;
    the unique constraint still stops a repeat. A draft a tombstone matches (an erased person) is None too.
    """
    drafts = list(drafts)
    fresh = range(len(drafts)) if refs_checked else _without_existing_refs(drafts)
    erased = tombstones.erased_indexes([drafts[index] for index in fresh])
    if erased:
        fresh = [index for position, index in enumerate(fresh) if position not in erased]
    leads = iter(_create_leads([drafts[index] for index in fresh], actor, lookups, batch=True))
    kept = set(fresh)
    return [next(leads) if index in kept else None for index in range(len(drafts))]


_UNREAD: Any = object()


class NewLeadLookups:
    """What ``create_lead`` reads for every lead (statuses, classification and assignment rules), read once.

    For importers creating many leads in one go: pass one instance to each ``create_lead`` call of a
    batch. Rule changes made meanwhile apply from the next batch. With ``max_age`` (seconds), one
    instance can serve a long import: ``fresh()`` reads everything again once it is that old.
    """

    def __init__(self, max_age: float | None = None) -> None:
        self.max_age = max_age
        self._forget()

    def _forget(self) -> None:
        self._read_at = time.monotonic()
        self._statuses: dict[str, PipelineStatus] | None = None
        self._classification_rules: list[ClassificationRule] | None = None
        self._assignment_rules: dict[int, list[AssignmentRule]] = {}
        self._junk_status: PipelineStatus | None = _UNREAD

    def fresh(self) -> NewLeadLookups:
        """These lookups, forgotten first when older than ``max_age``."""
        if self.max_age is not None and time.monotonic() - self._read_at > self.max_age:
            self._forget()
        return self

    def statuses(self) -> dict[str, PipelineStatus]:
        if self._statuses is None:
            self._statuses = _new_lead_statuses()
        return self._statuses

    def classification_rules(self) -> list[ClassificationRule]:
        if self._classification_rules is None:
            self._classification_rules = classification.enabled_rules()
        return self._classification_rules

    def assignment_rules(self, brand_id: int) -> list[AssignmentRule]:
        if brand_id not in self._assignment_rules:
            self._assignment_rules[brand_id] = assignment.enabled_rules(brand_id)
        return self._assignment_rules[brand_id]

    def junk_status(self) -> PipelineStatus | None:
        if self._junk_status is _UNREAD:
            self._junk_status = junk_status()
        return self._junk_status


def junk_status() -> PipelineStatus | None:
    """The first status of the junk stage (``negative`` as seeded), or None when there is none."""
    return PipelineStatus.objects.filter(stage=Stage.JUNK).order_by("order", "pk").first()


def normalise_email(text: str | None) -> str:
    return (text or "").strip().lower()


def _new_lead_statuses() -> dict[str, PipelineStatus]:
    """The ``pending`` and ``assigned`` statuses a new lead may take, in one query."""
    statuses = {
        status.key: status for status in PipelineStatus.objects.filter(key__in=["pending", "assigned"])
    }
    if "pending" not in statuses:
        raise PipelineStatus.DoesNotExist("PipelineStatus matching query does not exist.")
    return statuses


def _without_existing_refs(drafts: list[LeadData]) -> list[int]:
    """Indexes of the drafts whose external reference is new (not saved, not earlier in the batch)."""
    refs = {(d.external_source, d.external_form, d.external_id) for d in drafts if d.external_id}
    saved = set()
    if refs:
        match = models.Q()
        for source, form in {(ref[0], ref[1]) for ref in refs}:
            ids = [ref[2] for ref in refs if ref[:2] == (source, form)]
            match |= models.Q(external_source=source, external_form=form, external_id__any=ids)
        saved = set(Lead.objects.filter(match).values_list("external_source", "external_form", "external_id"))
    fresh = []
    for index, draft in enumerate(drafts):
        ref = (draft.external_source, draft.external_form, draft.external_id)
        if draft.external_id:
            if ref in saved:
                continue
            saved.add(ref)
        fresh.append(index)
    return fresh


@dataclass
class _NewLead:
    """A lead being created and what happened to it, in the order the events record it."""

    data: LeadData
    lead: Lead
    outcome: Classification
    reason: str
    classified_status: PipelineStatus
    original: Lead | int | None = None
    rule: AssignmentRule | None = None
    assignee: User | None = None
    tags: list[str] = field(default_factory=list)
    # Closed because the channel knew it junk: the status it takes if that is taken back.
    reopen: str | None = None


def _create_leads(  # noqa: C901 - known debt (ARCHITECTURE.md, Habits)
    drafts: list[LeadData], actor: Actor, lookups: NewLeadLookups | None, *, batch: bool
) -> list[Lead]:
    if not drafts:
        return []
    lookups = lookups or NewLeadLookups()
    now = timezone.now()
    statuses = lookups.statuses()
    rules = lookups.classification_rules()
    items: list[_NewLead] = []
    reasons: dict[tuple[int, ...], str] = {}
    for data in drafts:
        lead = _new_lead(data, now, statuses["pending"])
        outcome = classification.evaluate(lead, rules)
        matched = tuple(rule.pk for rule in outcome.rules)
        reason = reasons.get(matched)
        if reason is None:
            reason = reasons[matched] = outcome.reason
        reopen = None
        if data.junk_reason:
            reopen = (outcome.status or statuses["pending"]).key
            outcome.status = lookups.junk_status() or outcome.status
            reason = data.junk_reason
        outcome.apply(lead, reason)
        items.append(_NewLead(data, lead, outcome, reason, lead.status, reopen=reopen))
    duplicates.lock_contacts([item.lead for item in items])
    links = duplicates.find_originals([item.lead for item in items])
    for item, original in zip(items, links.originals, strict=True):
        item.original = original
        if isinstance(original, int):
            item.lead.duplicate_of_id = original
    open_items = [item for item in items if item.lead.status.stage != Stage.JUNK]
    if open_items:
        chosen = assignment.choose_assignees([item.lead for item in open_items], lookups.assignment_rules)
        for item, (rule, person) in zip(open_items, chosen, strict=True):
            if person is not None:
                _assign_new(item, rule, person, now, statuses)
    leads = [item.lead for item in items]
    # A lead whose original is new too: linked as it is inserted when the keys can be known first, else
    # after (an update that writes each of its index entries again).
    linked_first = reserve_ids(leads)
    if linked_first:
        _link_to_new_originals(items)
    bulk_insert(leads)
    if not linked_first:
        linked = _link_to_new_originals(items)
        if linked:
            Lead.objects.bulk_update(linked, ["duplicate_of"])
    _tag_new_leads(items)
    events = _record_new_lead_events(items, actor, now)
    if links.relinked:
        events += _relink_originals(links.relinked, now)
    if batch:
        lead_events_recorded.send(sender=LeadEvent, events=events)
    else:
        for event in events:
            lead_event_recorded.send(sender=LeadEvent, event=event)
    return leads


def _link_to_new_originals(items: list[_NewLead]) -> list[Lead]:
    """Point the leads whose original is a lead of the batch at its key; returns them."""
    linked = []
    for item in items:
        if isinstance(item.original, Lead):
            item.original = item.original.pk
            item.lead.duplicate_of_id = item.original
            linked.append(item.lead)
    return linked


def _new_lead(data: LeadData, now: datetime, pending: PipelineStatus) -> Lead:
    values = {name: getattr(data, name) for name in lead_fields.intake_names()}
    values["email"] = normalise_email(values["email"])
    if values["phone"] and not values["phone_e164"]:
        values["phone_e164"] = phone_to_e164(values["phone"])
    values["search_text"] = lead_search_text(values)
    related = {name: values.pop(name) for name in lead_fields.intake_relations()}
    related["created_by"] = data.created_by
    related["status"] = pending
    submitted_at = min(cast(datetime, data.submitted_at or now), now)
    if values["consent_version"] and values["consent_at"] is None:
        values["consent_at"] = submitted_at
    values.update(
        submitted_at=submitted_at,
        received_at=now,
        status_changed_at=now,
        last_activity_at=now,
    )
    if data.skip_alerts:
        values["skip_alerts"] = True
    return build(Lead, values, related)


def _assign_new(
    item: _NewLead,
    rule: AssignmentRule | None,
    person: User,
    now: datetime,
    statuses: dict[str, PipelineStatus],
) -> None:
    """Give a new lead to ``person`` before it is saved; a pending lead becomes assigned."""
    lead = item.lead
    item.rule, item.assignee = rule, person
    lead.assignee = person
    lead.assigned_at = now
    if lead.status.key == "pending":
        lead.status = statuses.get("assigned") or PipelineStatus.objects.get(key="assigned")
        lead.status_changed_at = now


def _tag_new_leads(items: list[_NewLead]) -> None:
    """Tags of new leads (the draft's, the classification's, ``duplicate``) in one lookup and one insert.

    Tags new to the database are created in name order, so two batches creating the same new tags at
    once wait for each other instead of deadlocking. Sends the ``m2m_changed`` signals ``lead.tags.add`` would, once per lead.
    """
    for item in items:
        item.tags = [*item.data.tags, *item.outcome.tags, *([DUPLICATE_TAG] if item.original else [])]
    names = sorted({name for item in items for name in item.tags}, key=lambda name: (name.casefold(), name))
    if not names:
        return
    tagged = [item for item in items if item.tags]
    found = tagged[0].lead.tags._to_tag_model_instances(names, {})
    by_name = {tag.name: tag for tag in found}
    folded = {tag.name.casefold(): tag for tag in found}
    model = TaggedLead.tag_model()
    signals = []
    for item in tagged:
        tags: dict[int, Any] = {}
        for name in item.tags:
            tag = by_name.get(name) or folded[name.casefold()]
            tags.setdefault(tag.pk, tag)
        signal = {
            "sender": TaggedLead,
            "instance": item.lead,
            "reverse": False,
            "model": model,
            "pk_set": set(tags),
            "using": item.lead._state.db,
        }
        signals.append((signal, tags))
        m2m_changed.send(action="pre_add", **signal)
    insert_rows(
        TaggedLead,
        [{"tag_id": pk, "content_object_id": s["instance"].pk} for s, tags in signals for pk in tags],
    )
    for signal, _tags in signals:
        m2m_changed.send(action="post_add", **signal)


def _record_new_lead_events(items: list[_NewLead], actor: Actor, now: datetime) -> list[LeadEvent]:
    """The events and log entries of new leads, each in one insert; returns the events in order.

    Each event's ``lead`` is a copy of the lead as it was when that event happened one by one.
    """
    events = []
    for item in items:
        lead = item.lead
        before = lead
        if item.assignee is not None:
            before = copy.copy(lead)
            before.assignee, before.assigned_at = None, None
            before.status = item.classified_status
            while_assigning = copy.copy(before)
            while_assigning.assignee, while_assigning.assigned_at = lead.assignee, lead.assigned_at
        status = item.classified_status.key
        events.append(
            new_event(
                before,
                LeadEvent.Kind.CREATED,
                actor,
                now,
                to_value=status,
                data={"source": getattr(lead.source, "key", "") or ""},
            )
        )
        events.append(
            new_event(
                before,
                LeadEvent.Kind.CLASSIFIED,
                actor,
                now,
                from_value="pending",
                to_value=status,
                note=item.reason,
                data=item.outcome.event_data(reopen=item.reopen),
            )
        )
        if item.original:
            events.append(
                new_event(before, LeadEvent.Kind.CLASSIFIED, None, now, **duplicate_event(item.original))
            )
        if item.assignee is not None:
            assert item.rule is not None
            events.append(
                new_event(
                    while_assigning,
                    LeadEvent.Kind.ASSIGNED,
                    None,
                    now,
                    to_value=item.assignee.get_username(),
                    note=rule_note(item.rule),
                    data={
                        "from_id": None,
                        "to_id": item.assignee.pk,
                        "automatic": True,
                        "rule": item.rule.pk,
                    },
                )
            )
            if status == "pending":
                events.append(
                    new_event(
                        while_assigning,
                        LeadEvent.Kind.STATUS_CHANGED,
                        None,
                        now,
                        from_value="pending",
                        to_value=lead.status.key,
                    )
                )
    bulk_insert(events)
    log_events(events, now)
    return events


def _relink_originals(relinked: dict[int, Lead | int], now: datetime) -> list[LeadEvent]:
    """Saved originals that a new lead submitted earlier displaces become its duplicates, and so do their
    duplicates (``relinked``: ``{saved original's pk: the new original, a pk or a saved lead}``).

    One ``classified`` event each; the displaced originals get the duplicate tag. Returns the events.
    """
    targets = {old: new if isinstance(new, int) else new.pk for old, new in relinked.items()}
    moved = list(
        Lead.objects.select_for_update(of=("self",))
        .filter(models.Q(pk__in=targets) | models.Q(duplicate_of__in=targets))
        .exclude(pk__in=set(targets.values()))
        .defer("raw_payload", "extra", "message")
        .order_by("pk")
    )
    events: list[LeadEvent] = []
    by_target: dict[int, list[int]] = {}
    for lead in moved:
        previous = lead.duplicate_of_id
        displaced = lead.pk if lead.pk in targets else previous
        assert displaced is not None, "a moved lead is a displaced original or one of its duplicates"
        lead.duplicate_of_id = targets[displaced]
        by_target.setdefault(lead.duplicate_of_id, []).append(lead.pk)
        events.append(
            new_event(
                lead, LeadEvent.Kind.CLASSIFIED, None, now, **relink_event(lead.duplicate_of_id, previous)
            )
        )
        if lead.pk in targets:
            lead.tags.add(DUPLICATE_TAG)
    for target, ids in by_target.items():
        Lead.objects.filter(pk__in=ids).update(duplicate_of_id=target, updated_at=now)
    if events:
        bulk_insert(events)
        log_events(events, now)
    return events
