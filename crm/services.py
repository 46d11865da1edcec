"""The one path for every change to a lead.

Each function changes the lead, writes a ``LeadEvent`` and a Wagtail log entry in one transaction,
and sends ``crm.signals.lead_event_recorded`` inside that transaction (alerts build their outbox
from it); ``create_leads``, the batch path, sends ``crm.signals.lead_events_recorded`` once instead. Admin views, imports, forms and jobs call these; nothing else writes leads.
"""

import copy
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import m2m_changed, post_init, pre_init
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import get_active_log_context, log
from wagtail.log_actions import registry as log_registry
from wagtail.models import ModelLogEntry

from . import lead_fields
from .models import Brand, Lead, LeadEvent, PipelineStatus, Stage, TaggedLead, User
from .signals import lead_event_recorded, lead_events_recorded

LOG_ACTIONS = {
    LeadEvent.Kind.CREATED: "wagtail.create",
    LeadEvent.Kind.CLASSIFIED: "crm.lead.classified",
    LeadEvent.Kind.ASSIGNED: "crm.lead.assigned",
    LeadEvent.Kind.STATUS_CHANGED: "crm.lead.status_changed",
    LeadEvent.Kind.NOTE: "crm.lead.note",
    LeadEvent.Kind.CONTACT_ATTEMPT: "crm.lead.contact_attempt",
    LeadEvent.Kind.MERGED: "crm.lead.merged",
    LeadEvent.Kind.EDITED: "wagtail.edit",
}


_UNSET = object()


class EncodedJSON(dict):
    """A JSON object encoded once, when wrapped (``text``): ``bulk_insert`` writes that text for every
    row holding it, e.g. a WordPress payload kept both as the raw submission and as the lead's raw
    payload. Do not change it after wrapping."""

    __slots__ = ("text",)

    def __init__(self, value=()):
        super().__init__(value)
        self.text = json.dumps(self)


class ModelBuilder:
    """Instances of one model built from values in field order, as ``Model.from_db`` builds them.

    ``Model(**kwargs)`` costs a descriptor call and a default lookup per field. When the model keeps
    Django's ``__init__``, nothing listens to its ``pre_init``/``post_init`` and its fields keep their
    values as plain attributes, the values go straight into the instance's ``__dict__`` (where
    ``Model.__init__`` puts them); otherwise the model is called with them and the signals are sent.
    Relations are given as objects (cached on the instance, as the keyword form does) or as ``<name>_id``.
    """

    def __init__(self, model):
        self.model = model
        fields = model._meta.concrete_fields
        self.attnames = [model_field.attname for model_field in fields]
        self.plain_fields = model.__init__ is models.Model.__init__ and all(
            type(getattr(model, attname, None)) in (DeferredAttribute, ForeignKeyDeferredAttribute)
            for attname in self.attnames
        )
        self.index = {model_field.attname: number for number, model_field in enumerate(fields)}
        self.relations = {
            model_field.name: (number, model_field.target_field.attname)
            for number, model_field in enumerate(fields)
            if model_field.is_relation
        }
        self.row = []
        self.factories = []
        for number, model_field in enumerate(fields):
            if model_field.has_default() and callable(model_field.default):
                self.row.append(_UNSET)
                self.factories.append((number, model_field.default))
            else:
                self.row.append(model_field.get_default())

    def values(self, values, related=None):
        """The instance's field values in field order: ``values`` and ``related`` over the defaults."""
        row = self.row.copy()
        index = self.index
        for name, value in values.items():
            row[index[name]] = value
        if related:
            for name, obj in related.items():
                number, target = self.relations[name]
                row[number] = None if obj is None else getattr(obj, target)
        for number, factory in self.factories:
            if row[number] is _UNSET:
                row[number] = factory()
        return row

    def __call__(self, values, related=None):
        model = self.model
        row = self.values(values, related)
        if self.plain_fields and not (pre_init.has_listeners(model) or post_init.has_listeners(model)):
            instance = model.__new__(model)
            instance._state = ModelState()
            instance.__dict__.update(zip(self.attnames, row, strict=True))
        else:
            instance = model(*row)
        if related:
            instance._state.fields_cache.update(related)
        return instance


_builders = {}


def build(model, values, related=None):
    """A new unsaved ``model`` instance from attribute ``values`` and ``related`` objects (see ``ModelBuilder``)."""
    return _builder(model)(values, related)


def _builder(model):
    builder = _builders.get(model)
    if builder is None:
        builder = _builders[model] = ModelBuilder(model)
    return builder


class LeadData(lead_fields.FieldValues):
    """Normalised input for a new lead, whatever channel it came from: ``brand`` and any field of
    ``crm.lead_fields`` an intake path fills, by keyword; when it was submitted, its tags, who entered it
    and, when the channel already knows the lead is junk (e.g. its website marked it spam), why (it is
    created closed)."""

    def __init__(
        self,
        brand: Brand,
        *,
        submitted_at: datetime | None = None,
        tags: list[str] | None = None,
        created_by: User | None = None,
        junk_reason: str = "",
        **values: Any,
    ) -> None:
        values["brand"] = brand
        self.fill(values)
        self.submitted_at = submitted_at
        self.tags = [] if tags is None else tags
        self.created_by = created_by
        self.junk_reason = junk_reason


def record_event(
    lead, kind, actor=None, *, from_value="", to_value="", note="", channel="", outcome="", data=None
):
    """Write one lead event and its Wagtail log entry. Call inside the transaction that changed the lead."""
    event = _new_event(
        lead,
        kind,
        actor,
        timezone.now(),
        from_value=from_value,
        to_value=to_value,
        note=note,
        channel=channel,
        outcome=outcome,
        data=data,
    )
    event.save()
    log_lead(lead, LOG_ACTIONS[kind], event.actor, _log_data(event))
    lead_event_recorded.send(sender=LeadEvent, event=event)
    return event


def _new_event(
    lead, kind, actor, now, *, from_value="", to_value="", note="", channel="", outcome="", data=None
):
    return build(
        LeadEvent,
        {
            "kind": kind,
            "from_value": str(from_value or "")[:100],
            "to_value": str(to_value or "")[:100],
            "note": note,
            "channel": channel,
            "outcome": outcome,
            "data": data or {},
            "created_at": now,
        },
        {"lead": lead, "actor": actor if getattr(actor, "is_authenticated", False) else None},
    )


def _log_data(event):
    return {"event": event.pk, "from": event.from_value, "to": event.to_value, "note": event.note[:500]}


def _logs_to_model_log_entries(lead):
    """Whether lead log entries go to Wagtail's ``ModelLogEntry`` table (directly or through a proxy)."""
    log_model = log_registry.get_log_model_for_instance(lead)
    return log_model is not None and log_model._meta.concrete_model is ModelLogEntry


def log_lead(lead, action, user, data):
    """Write the Wagtail log entry of a lead change, as ``wagtail.log_actions.log`` does.

    ``ModelLogEntry.save`` runs ``full_clean``, which checks with a query each that the content type
    and the user exist; both come from memory here, so the entry is validated without them.
    """
    if not _logs_to_model_log_entries(lead):
        return log(instance=lead, action=action, user=user, data=data)
    entry = _log_entry(lead, action, user, data, timezone.now(), get_active_log_context())
    entry.full_clean(exclude=["content_type", "user"])
    models.Model.save(entry)
    return entry


def _log_entry(lead, action, user, data, now, context, content_type=None):
    content_type = content_type or ContentType.objects.get_for_model(lead, for_concrete_model=False)
    return build(ModelLogEntry, *_log_values(lead, action, user, data, now, context, content_type))


def _log_values(lead, action, user, data, now, context, content_type):
    """A log entry's ``(values, related objects)`` for ``build`` or, merged as ids, ``insert_rows``."""
    values = {
        "object_id": str(lead.pk),
        "label": ModelLogEntry.objects.get_instance_title(lead),
        "action": action,
        "timestamp": now,
        "data": data or {},
        "uuid": context.uuid,
    }
    return values, {"content_type": content_type, "user": user or context.user}


def _log_events(events, now):
    """The Wagtail log entries of saved events, in one insert; each action is validated once."""
    if not _logs_to_model_log_entries(events[0].lead):
        for event in events:
            log(instance=event.lead, action=LOG_ACTIONS[event.kind], user=event.actor, data=_log_data(event))
        return
    context = get_active_log_context()
    content_type = ContentType.objects.get_for_model(events[0].lead, for_concrete_model=False)
    rows, checked = [], set()
    for event in events:
        action = LOG_ACTIONS[event.kind]
        values, related = _log_values(
            event.lead, action, event.actor, _log_data(event), now, context, content_type
        )
        if action not in checked:
            build(ModelLogEntry, values, related).full_clean(exclude=["content_type", "user"])
            checked.add(action)
        user = related["user"]
        values.update(content_type_id=content_type.pk, user_id=user.pk if user is not None else None)
        rows.append(values)
    insert_rows(ModelLogEntry, rows)


def _touch(lead, now=None, fields=()):
    lead.last_activity_at = now or timezone.now()
    lead.save(update_fields=[*fields, "last_activity_at", "updated_at"])


def default_status():
    return PipelineStatus.objects.get(key="pending")


def junk_status():
    """The first status of the junk stage (``negative`` as seeded), or None when there is none."""
    return PipelineStatus.objects.filter(stage=Stage.JUNK).order_by("order", "pk").first()


def _new_lead_statuses():
    """The ``pending`` and ``assigned`` statuses a new lead may take, in one query."""
    statuses = {
        status.key: status for status in PipelineStatus.objects.filter(key__in=["pending", "assigned"])
    }
    if "pending" not in statuses:
        raise PipelineStatus.DoesNotExist("PipelineStatus matching query does not exist.")
    return statuses


class NewLeadLookups:
    """What ``create_lead`` reads for every lead (statuses, classification and assignment rules), read once.

    For importers creating many leads in one go: pass one instance to each ``create_lead`` call of a
    batch. Rule changes made meanwhile apply from the next batch. With ``max_age`` (seconds), one
    instance can serve a long import: ``fresh()`` reads everything again once it is that old.
    """

    def __init__(self, max_age=None):
        self.max_age = max_age
        self._forget()

    def _forget(self):
        self._read_at = time.monotonic()
        self._statuses = None
        self._classification_rules = None
        self._assignment_rules = {}
        self._junk_status = _UNSET

    def fresh(self):
        """These lookups, forgotten first when older than ``max_age``."""
        if self.max_age is not None and time.monotonic() - self._read_at > self.max_age:
            self._forget()
        return self

    def statuses(self):
        if self._statuses is None:
            self._statuses = _new_lead_statuses()
        return self._statuses

    def classification_rules(self):
        from .classification import enabled_rules

        if self._classification_rules is None:
            self._classification_rules = enabled_rules()
        return self._classification_rules

    def assignment_rules(self, brand_id):
        from .assignment import enabled_rules

        if brand_id not in self._assignment_rules:
            self._assignment_rules[brand_id] = enabled_rules(brand_id)
        return self._assignment_rules[brand_id]

    def junk_status(self):
        if self._junk_status is _UNSET:
            self._junk_status = junk_status()
        return self._junk_status


@transaction.atomic
def create_lead(data: LeadData, actor=None, *, lookups=None):
    """Create a lead, classify it, link it to the lead it repeats and assign it. Returns the lead.

    Classification and duplicate detection run before the lead is saved, so the ``created`` event
    (and whatever listens to it) already sees the final status, ``skip_alerts`` and ``duplicate_of``.
    Junk leads are not auto-assigned. Raises ``IntegrityError`` when a lead with the same external
    reference exists. ``lookups`` (a ``NewLeadLookups``) shares the rules and statuses between calls.
    Sends ``lead_event_recorded`` once per event.
    """
    return _create_leads([data], actor, lookups, batch=False)[0]


@transaction.atomic
def create_leads(drafts, actor=None, *, lookups=None, refs_checked=False):
    """``create_lead`` for a batch of ``LeadData``, in a few queries whatever the batch size.

    Same leads, events, log entries, tags, duplicates and assignments as creating them one by one in
    order (the earliest submission sharing a contact is the original, see ``crm.duplicates``). Returns one item per
    draft: the lead, or None when a lead with its external reference exists (or came earlier in the
    batch). Sends ``lead_events_recorded`` once with every event instead of ``lead_event_recorded``;
    each event's ``lead`` is the lead as it was when that event happened. ``refs_checked``: the caller
    has just read that no lead has these (distinct) external references, so they are not read again;
    the unique constraint still stops a repeat.
    """
    drafts = list(drafts)
    fresh = range(len(drafts)) if refs_checked else _without_existing_refs(drafts)
    leads = iter(_create_leads([drafts[index] for index in fresh], actor, lookups, batch=True))
    fresh = set(fresh)
    return [next(leads) if index in fresh else None for index in range(len(drafts))]


def _without_existing_refs(drafts):
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
    outcome: object
    reason: str
    classified_status: object
    original: object = None
    rule: object = None
    assignee: object = None
    tags: list = field(default_factory=list)
    # Closed because the channel knew it junk: the status it takes if that is taken back.
    reopen: str | None = None


def _create_leads(drafts, actor, lookups, *, batch):
    from . import assignment, classification, duplicates

    if not drafts:
        return []
    lookups = lookups or NewLeadLookups()
    now = timezone.now()
    statuses = lookups.statuses()
    rules = lookups.classification_rules()
    items, reasons = [], {}
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
        _apply_classification(lead, outcome, reason)
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
    bulk_insert(leads)
    linked = []
    for item in items:
        if isinstance(item.original, Lead):
            item.original = item.original.pk
            item.lead.duplicate_of_id = item.original
            linked.append(item.lead)
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


def _relink_originals(relinked, now):
    """Saved originals that a new lead submitted earlier displaces become its duplicates, and so do their
    duplicates (``relinked``: ``{saved original's pk: the new original, a pk or a saved lead}``).

    One ``classified`` event each; the displaced originals get the duplicate tag. Returns the events.
    """
    from .duplicates import DUPLICATE_TAG, relink_event

    targets = {old: getattr(new, "pk", new) for old, new in relinked.items()}
    moved = list(
        Lead.objects.select_for_update(of=("self",))
        .filter(models.Q(pk__in=targets) | models.Q(duplicate_of__in=targets))
        .exclude(pk__in=set(targets.values()))
        .defer("raw_payload", "extra", "message")
        .order_by("pk")
    )
    events, by_target = [], {}
    for lead in moved:
        previous = lead.duplicate_of_id
        lead.duplicate_of_id = targets[lead.pk if lead.pk in targets else previous]
        by_target.setdefault(lead.duplicate_of_id, []).append(lead.pk)
        events.append(
            _new_event(
                lead, LeadEvent.Kind.CLASSIFIED, None, now, **relink_event(lead.duplicate_of_id, previous)
            )
        )
        if lead.pk in targets:
            lead.tags.add(DUPLICATE_TAG)
    for target, ids in by_target.items():
        Lead.objects.filter(pk__in=ids).update(duplicate_of_id=target, updated_at=now)
    if events:
        bulk_insert(events)
        _log_events(events, now)
    return events


def bulk_insert(objs):
    """Insert new model instances of one model and set their primary keys, like ``bulk_create``.

    On PostgreSQL the rows go in with ``COPY`` under ids taken from the table's sequence first, which
    costs a fraction of ``bulk_create``'s per-field preparation and array encoding (two queries instead
    of one, so small batches, other databases and other field types go through ``bulk_create``).
    Values must be plain (no expressions). No signals are sent.
    """
    if not objs:
        return objs
    model = type(objs[0])
    plan = _copy_plan(model)
    if plan is None or len(objs) < _COPY_FROM or connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    now = timezone.now()
    names = plan.builder.attnames

    def rows(ids):
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
            for index in plan.stamps:
                setattr(obj, names[index], now)
            loaded = obj.__dict__
            yield [loaded[name] if name in loaded else getattr(obj, name) for name in names]

    _copy(plan, rows(_reserve_ids(plan.meta, len(objs))))
    alias = connection.alias
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias
    return objs


def insert_rows(model, rows):
    """Insert rows given as ``{attname: value}`` (the rest take their field defaults); no instances.

    For rows nothing reads back (log entries, tag links): on PostgreSQL they are written by ``COPY``
    straight from the dictionaries, skipping the model instances ``bulk_insert`` needs, and the table
    numbers them; elsewhere they are built and go through ``bulk_create``. No signals are sent.
    """
    if not rows:
        return
    plan = _copy_plan(model)
    if plan is None or len(rows) < _COPY_FROM or connection.vendor != "postgresql":
        model.objects.bulk_create([build(model, row) for row in rows])
        return
    now = timezone.now()

    def values():
        for row in rows:
            line = plan.builder.values(row)
            for number in plan.stamps:
                line[number] = now
            yield line

    _copy(plan, values(), without_pk=True)


@dataclass
class _CopyPlan:
    meta: object
    builder: ModelBuilder
    columns: str
    columns_without_pk: str
    encoders: dict
    stamps: list


_copy_plans = {}


def _copy_plan(model):
    """How ``COPY`` writes ``model``'s rows (None when a field type is not one it can write), built once."""
    if model in _copy_plans:
        return _copy_plans[model]
    meta = model._meta
    fields = meta.concrete_fields
    plan = None
    if fields[0] is meta.pk and all(
        field.get_internal_type() in _COPY_TYPES or field.is_relation for field in fields
    ):
        plan = _CopyPlan(
            meta=meta,
            builder=_builder(model),
            columns=", ".join(connection.ops.quote_name(field.column) for field in fields),
            columns_without_pk=", ".join(connection.ops.quote_name(field.column) for field in fields[1:]),
            encoders={
                number: field.encoder
                for number, field in enumerate(fields)
                if field.get_internal_type() == "JSONField"
            },
            stamps=[
                number
                for number, field in enumerate(fields)
                if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            ],
        )
    _copy_plans[model] = plan
    return plan


def _reserve_ids(meta, count):
    """``count`` new primary keys of ``meta``'s table, ascending, taken from its sequence in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_sequence(cursor, meta), count]
        )
        return sorted(row[0] for row in cursor.fetchall())


def _copy(plan, rows, without_pk=False):
    """``COPY`` ``rows`` (lists in field order) into ``plan``'s table.

    ``without_pk``: the primary key (each row's first value) is left out and the table numbers the rows.
    """
    table = connection.ops.quote_name(plan.meta.db_table)
    columns = plan.columns_without_pk if without_pk else plan.columns
    encoders = [(number, encoder and encoder()) for number, encoder in plan.encoders.items()]
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            for number, encoder in encoders:
                value = row[number]
                if value is None:
                    continue
                if encoder:
                    row[number] = encoder.encode(value)
                else:
                    row[number] = value.text if type(value) is EncodedJSON else json.dumps(value)
            copy.write_row(row[1:] if without_pk else row)


def _sequence(cursor, meta):
    """The name of the sequence behind ``meta``'s primary key, looked up once per process."""
    name = _sequences.get(meta.db_table)
    if name is None:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
        name = _sequences[meta.db_table] = cursor.fetchone()[0]
    return name


_sequences = {}
_COPY_FROM = 10
_COPY_TYPES = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateTimeField",
    "IntegerField",
    "JSONField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
    "UUIDField",
}


def _new_lead(data, now, pending):
    values = {name: getattr(data, name) for name in lead_fields.intake_names()}
    values["email"] = normalise_email(values["email"])
    if values["phone"] and not values["phone_e164"]:
        from .normalise import phone_to_e164

        values["phone_e164"] = phone_to_e164(values["phone"])
    related = {name: values.pop(name) for name in lead_fields.intake_relations()}
    related["created_by"] = data.created_by
    related["status"] = pending
    values.update(
        submitted_at=min(data.submitted_at or now, now),
        received_at=now,
        status_changed_at=now,
        last_activity_at=now,
    )
    return build(Lead, values, related)


def _assign_new(item, rule, person, now, statuses):
    """Give a new lead to ``person`` before it is saved; a pending lead becomes assigned."""
    lead = item.lead
    item.rule, item.assignee = rule, person
    lead.assignee = person
    lead.assigned_at = now
    if lead.status.key == "pending":
        lead.status = statuses.get("assigned") or PipelineStatus.objects.get(key="assigned")
        lead.status_changed_at = now


def _tag_new_leads(items):
    """Tags of new leads (the draft's, the classification's, ``duplicate``) in one lookup and one insert.

    Tags new to the database are created in name order, so two batches creating the same new tags at
    once wait for each other instead of deadlocking. Sends the ``m2m_changed`` signals ``lead.tags.add`` would, once per lead.
    """
    from .duplicates import DUPLICATE_TAG

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
        tags = {}
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


def _record_new_lead_events(items, actor, now):
    """The events and log entries of new leads, each in one insert; returns the events in order.

    Each event's ``lead`` is a copy of the lead as it was when that event happened one by one.
    """
    from .assignment import rule_note
    from .duplicates import duplicate_event

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
            _new_event(
                before,
                LeadEvent.Kind.CREATED,
                actor,
                now,
                to_value=status,
                data={"source": _key(lead.source)},
            )
        )
        events.append(
            _new_event(
                before,
                LeadEvent.Kind.CLASSIFIED,
                actor,
                now,
                from_value="pending",
                to_value=status,
                note=item.reason,
                data=_classification_data(item.outcome, reopen=item.reopen),
            )
        )
        if item.original:
            events.append(
                _new_event(before, LeadEvent.Kind.CLASSIFIED, None, now, **duplicate_event(item.original))
            )
        if item.assignee is not None:
            events.append(
                _new_event(
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
                    _new_event(
                        while_assigning,
                        LeadEvent.Kind.STATUS_CHANGED,
                        None,
                        now,
                        from_value="pending",
                        to_value=lead.status.key,
                    )
                )
    bulk_insert(events)
    _log_events(events, now)
    return events


def normalise_email(text):
    return (text or "").strip().lower()


def _apply_classification(lead, outcome, reason=None):
    if outcome.status is not None:
        lead.status = outcome.status
    if outcome.priority:
        lead.priority = outcome.priority
    lead.skip_alerts = lead.skip_alerts or outcome.skip_alerts
    lead.classification_reason = outcome.reason if reason is None else reason


def _classification_data(outcome, reopen=None):
    data = {
        "rules": [rule.pk for rule in outcome.rules],
        "tags": outcome.tags,
        "priority": outcome.priority,
        "skip_alerts": outcome.skip_alerts,
    }
    if reopen:
        data.update(closed_upstream=True, reopen=reopen)
    return data


def _record_classification(lead, outcome, previous_status, actor=None, *, tag=True):
    if tag and outcome.tags:
        lead.tags.add(*outcome.tags)
    return record_event(
        lead,
        LeadEvent.Kind.CLASSIFIED,
        actor,
        from_value=previous_status.key,
        to_value=lead.status.key,
        note=outcome.reason,
        data=_classification_data(outcome),
    )


@transaction.atomic
def classify(lead, actor=None):
    """Run the classification rules again on an existing lead and record a ``classified`` event.

    Returns the ``crm.classification.Classification`` outcome.
    """
    from . import classification

    lead = Lead.objects.select_for_update(of=("self",)).select_related("status").get(pk=lead.pk)
    outcome = classification.evaluate(lead)
    previous = lead.status
    _apply_classification(lead, outcome)
    fields = ["priority", "skip_alerts", "classification_reason"]
    if lead.status_id != previous.pk:
        lead.status_changed_at = timezone.now()
        fields += ["status", "status_changed_at"]
    _record_classification(lead, outcome, previous, actor)
    _touch(lead, fields=fields)
    return outcome


@transaction.atomic
def tag_lead(lead, tags, actor=None, note=""):
    """Add ``tags`` (a list or one string) to the lead with a ``classified`` event; None if nothing is new."""
    tags = [tags] if isinstance(tags, str) else list(tags)
    present = set(lead.tags.names())
    new = [tag for tag in dict.fromkeys(tag.strip() for tag in tags) if tag and tag not in present]
    if not new:
        return None
    lead.tags.add(*new)
    event = record_event(
        lead, LeadEvent.Kind.CLASSIFIED, actor, to_value=", ".join(new), note=note, data={"tags": new}
    )
    _touch(lead)
    return event


def is_worked(lead, since=None):
    """Whether a person has worked the lead (any event of theirs, a contact, a merge), after ``since`` if given."""
    if since is None and (lead.first_contacted_at or lead.merged_into_id):
        return True
    events = LeadEvent.objects.filter(lead=lead, actor__isnull=False)
    if since is not None:
        events = events.filter(created_at__gt=since)
    return events.exists()


@transaction.atomic
def mark_junk_upstream(lead, tag, reason, replaces=()):
    """The website the lead came from marked its submission junk (spam, trash, gone).

    The lead keeps everything and is tagged ``tag`` (in place of any of ``replaces``). Nobody has worked
    it (nothing but system events): it is closed in the junk stage, with ``reason``. A person has: it stays
    where it is, and the tag's ``classified`` event (``data["flagged_upstream"]``) tells its assignee
    through the alert rules. Returns the lead.
    """
    lead = Lead.objects.select_for_update(of=("self",)).select_related("status").get(pk=lead.pk)
    worked = is_worked(lead)
    present = set(lead.tags.names())
    stale = [name for name in replaces if name in present and name != tag]
    if stale:
        lead.tags.remove(*stale)
    if tag not in present:
        lead.tags.add(tag)
    now = timezone.now()
    record_event(
        lead,
        LeadEvent.Kind.CLASSIFIED,
        to_value=tag,
        note=reason,
        data={"tags": [tag], "removed_tags": stale, "flagged_upstream": True, "worked": worked},
    )
    fields = []
    closing = None if worked or lead.status.is_closed else junk_status()
    if closing is not None:
        previous = lead.status
        lead.status = closing
        lead.status_changed_at = now
        fields += ["status", "status_changed_at"]
        record_event(
            lead,
            LeadEvent.Kind.STATUS_CHANGED,
            from_value=previous.key,
            to_value=closing.key,
            note=reason,
            data={"closed_upstream": True, "reopen": previous.key},
        )
    _touch(lead, now, fields)
    return lead


@transaction.atomic
def clear_junk_upstream(lead, tags, reason):
    """The website took back its junk mark (e.g. "not spam"): the ``tags`` come off, and a lead the mark
    closed goes back to the status it had then, unless a person has touched it since. Returns the lead."""
    lead = Lead.objects.select_for_update(of=("self",)).select_related("status").get(pk=lead.pk)
    removed = [name for name in lead.tags.names() if name in tags]
    if removed:
        lead.tags.remove(*removed)
    now = timezone.now()
    record_event(
        lead,
        LeadEvent.Kind.CLASSIFIED,
        note=reason,
        data={"tags": [], "removed_tags": removed, "flagged_upstream": False},
    )
    fields = []
    closed = (
        LeadEvent.objects.filter(lead=lead, data__closed_upstream=True).order_by("-created_at", "-pk").first()
    )
    if (
        closed is not None
        and closed.to_value == lead.status.key
        and not is_worked(lead, since=closed.created_at)
    ):
        reopened = PipelineStatus.objects.filter(
            key=(closed.data or {}).get("reopen") or closed.from_value
        ).first()
        if reopened is not None and reopened.pk != lead.status_id:
            previous = lead.status
            lead.status = reopened
            lead.status_changed_at = now
            fields += ["status", "status_changed_at"]
            record_event(
                lead,
                LeadEvent.Kind.STATUS_CHANGED,
                from_value=previous.key,
                to_value=reopened.key,
                note=reason,
                data={"reopened_upstream": True},
            )
    _touch(lead, now, fields)
    return lead


def _key(obj):
    return getattr(obj, "key", "") or ""


@transaction.atomic
def change_status(lead, status, actor=None, note="", *, enforce_pipeline_rule=True):
    """Move a lead to ``status`` (a PipelineStatus or its key)."""
    from .access import check_status_change

    if isinstance(status, str):
        status = PipelineStatus.objects.get(key=status)
    lead = Lead.objects.select_for_update(of=("self",)).select_related("status").get(pk=lead.pk)
    if status.pk == lead.status_id:
        return lead
    if status.stage == Stage.LOST and not note.strip():
        raise ValidationError(_("Give a reason when a lead is lost or not viable."))
    if actor is not None and enforce_pipeline_rule:
        check_status_change(actor, lead, status)
    previous = lead.status
    now = timezone.now()
    lead.status = status
    lead.status_changed_at = now
    fields = ["status", "status_changed_at"]
    record_event(
        lead, LeadEvent.Kind.STATUS_CHANGED, actor, from_value=previous.key, to_value=status.key, note=note
    )
    _touch(lead, now, fields)
    return lead


@transaction.atomic
def assign(lead, assignee, actor=None, note="", *, automatic=False, data=None):
    """Give the lead to ``assignee`` (or None to unassign). A pending lead becomes assigned.

    When a person assigns (``actor`` given), the assignee must be active and work for the lead's brand.
    ``data`` adds to the event's data (e.g. the assignment rule).
    """
    lead = Lead.objects.select_for_update(of=("self",)).select_related("status", "assignee").get(pk=lead.pk)
    if lead.assignee_id == (assignee.pk if assignee else None):
        return lead
    if assignee is not None and actor is not None:
        check_assignee(lead, assignee)
    _apply_assignment(lead, assignee, actor, note, automatic=automatic, data=data)
    return lead


def _apply_assignment(lead, assignee, actor, note, *, automatic, data, assigned_status=None):
    """Assign a lead this transaction holds (locked or just created): events, then one UPDATE."""
    previous = lead.assignee
    now = timezone.now()
    lead.assignee = assignee
    lead.assigned_at = now if assignee else None
    fields = ["assignee", "assigned_at"]
    record_event(
        lead,
        LeadEvent.Kind.ASSIGNED,
        actor,
        from_value=previous.get_username() if previous else "",
        to_value=assignee.get_username() if assignee else "",
        note=note,
        data={
            "from_id": previous.pk if previous else None,
            "to_id": assignee.pk if assignee else None,
            "automatic": automatic,
            **(data or {}),
        },
    )
    if assignee and lead.status.key == "pending":
        assigned = assigned_status or PipelineStatus.objects.get(key="assigned")
        record_event(lead, LeadEvent.Kind.STATUS_CHANGED, actor, from_value="pending", to_value="assigned")
        lead.status = assigned
        lead.status_changed_at = now
        fields += ["status", "status_changed_at"]
    _touch(lead, now, fields)


def check_assignee(lead, assignee):
    """Raise ``ValidationError`` unless ``assignee`` is an active person working for the lead's brand."""
    from .assignment import assignable_users

    if not assignable_users(lead.brand_id).filter(pk=assignee.pk).exists():
        raise ValidationError(
            _("%(person)s cannot take leads of %(brand)s.") % {"person": assignee, "brand": lead.brand}
        )


def _leads_allowed(leads, actor, action):
    """The leads as a list, after checking ``actor`` may do ``action`` on every one of them."""
    from .access import can_act_on_lead

    leads = list(leads.select_related("status", "brand") if hasattr(leads, "select_related") else leads)
    refused = [lead for lead in leads if not can_act_on_lead(actor, lead, action)]
    if refused:
        raise PermissionDenied(
            _("You may not do this on lead(s) %(leads)s.")
            % {"leads": ", ".join(f"#{lead.pk}" for lead in refused[:20])}
        )
    return leads


@transaction.atomic
def bulk_assign(leads, assignee, actor, note=""):
    """Assign every lead in ``leads`` (a queryset or list) to ``assignee``; returns how many changed.

    All or nothing: raises ``PermissionDenied`` if ``actor`` may not assign any one of them and
    ``ValidationError`` if the assignee cannot take one of them. Each lead gets its own event.
    """
    leads = _leads_allowed(leads, actor, "assign")
    target = assignee.pk if assignee else None
    changed = 0
    for lead in leads:
        if lead.assignee_id != target:
            assign(lead, assignee, actor, note)
            changed += 1
    return changed


@transaction.atomic
def bulk_change_status(leads, status, actor, note=""):
    """Move every lead in ``leads`` to ``status`` (or its key); returns how many changed.

    All or nothing: raises ``PermissionDenied`` when ``actor`` may not change one of them or the
    pipeline rule forbids the move, ``ValidationError`` when a reason is missing.
    """
    if isinstance(status, str):
        status = PipelineStatus.objects.get(key=status)
    leads = _leads_allowed(leads, actor, "change_status")
    changed = 0
    for lead in leads:
        if lead.status_id != status.pk:
            change_status(lead, status, actor, note)
            changed += 1
    return changed


MERGE_FILLABLE_FIELDS = ["contact_name", "company", "email", "phone", "phone_e164", "location", "service"]


@transaction.atomic
def merge_leads(duplicate, into, actor):
    """Merge ``duplicate`` into ``into`` (the survivor). Returns the survivor.

    Nothing is deleted: the duplicate is linked (``merged_into``, ``duplicate_of``) and its events stay
    on it, shown in the survivor's ``Lead.history()``. Blank contact fields of the survivor are filled
    from the duplicate and its tags are copied; both leads get a ``merged`` event.
    """
    from .access import can_act_on_lead
    from .duplicates import DUPLICATE_TAG

    if duplicate.pk == into.pk:
        raise ValidationError(_("A lead cannot be merged into itself."))
    locked = {
        lead.pk: lead
        for lead in Lead.objects.select_for_update().filter(pk__in=[duplicate.pk, into.pk]).order_by("pk")
    }
    duplicate, into = locked[duplicate.pk], locked[into.pk]
    if actor is not None and not (
        can_act_on_lead(actor, duplicate, "merge") and can_act_on_lead(actor, into, "merge")
    ):
        raise PermissionDenied(_("You may not merge these leads."))
    if duplicate.brand_id != into.brand_id:
        raise ValidationError(_("Only leads of the same brand can be merged."))
    if duplicate.merged_into_id or into.merged_into_id:
        raise ValidationError(_("One of these leads has already been merged into another."))
    now = timezone.now()
    filled = {}
    for name in MERGE_FILLABLE_FIELDS:
        if not getattr(into, name) and getattr(duplicate, name):
            setattr(into, name, getattr(duplicate, name))
            filled[name] = str(getattr(duplicate, name))
    if duplicate.first_contacted_at and (
        into.first_contacted_at is None or duplicate.first_contacted_at < into.first_contacted_at
    ):
        into.first_contacted_at = duplicate.first_contacted_at
    copied_tags = [tag for tag in duplicate.tags.names() if tag != DUPLICATE_TAG]
    if copied_tags:
        into.tags.add(*copied_tags)
    if into.duplicate_of_id == duplicate.pk:
        into.duplicate_of = None
    Lead.objects.filter(merged_into=duplicate).update(merged_into=into)
    Lead.objects.filter(duplicate_of=duplicate).exclude(pk=into.pk).update(duplicate_of=into)
    duplicate.merged_into = into
    duplicate.merged_at = now
    duplicate.duplicate_of = into
    record_event(duplicate, LeadEvent.Kind.MERGED, actor, to_value=f"#{into.pk}", data={"into": into.pk})
    record_event(
        into,
        LeadEvent.Kind.MERGED,
        actor,
        from_value=f"#{duplicate.pk}",
        data={"merged_from": duplicate.pk, "filled": filled, "tags": copied_tags},
    )
    _touch(duplicate, now, ["merged_into", "merged_at", "duplicate_of"])
    _touch(into, now, [*filled, "first_contacted_at", "duplicate_of"])
    return into


@transaction.atomic
def add_note(lead, actor, note):
    if not note.strip():
        raise ValidationError(_("A note cannot be empty."))
    event = record_event(lead, LeadEvent.Kind.NOTE, actor, note=note)
    _touch(lead)
    return event


@transaction.atomic
def log_contact_attempt(lead, actor, channel, outcome, note=""):
    """Record a call, email or message to the lead; the first one sets the first-contact time."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    now = timezone.now()
    event = record_event(
        lead, LeadEvent.Kind.CONTACT_ATTEMPT, actor, channel=channel, outcome=outcome, note=note
    )
    fields = []
    if lead.first_contacted_at is None:
        lead.first_contacted_at = now
        fields.append("first_contacted_at")
    _touch(lead, now, fields)
    return event


EDITABLE_FIELDS = [
    "contact_name",
    "company",
    "email",
    "phone",
    "location",
    "service",
    "message",
    "brand",
    "source",
    "campaign",
    "priority",
    "management_note",
]


@transaction.atomic
def edit_lead(lead, actor, changes):
    """Apply field ``changes`` (a dict) and record one ``edited`` event listing them."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    changed = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            raise ValidationError(_("The field “%(field)s” cannot be edited here.") % {"field": name})
        old = getattr(lead, name)
        if old != value:
            changed[name] = {
                "from": str(old) if old is not None else "",
                "to": str(value) if value is not None else "",
            }
            setattr(lead, name, value)
    if not changed:
        return lead
    if "phone" in changed:
        from .normalise import phone_to_e164

        lead.phone_e164 = phone_to_e164(lead.phone)
    record_event(lead, LeadEvent.Kind.EDITED, actor, to_value=", ".join(changed), data={"changes": changed})
    _touch(lead, fields=[*changed, "phone_e164"] if "phone" in changed else list(changed))
    return lead
