"""What the lead page shows, worked out from a lead already loaded: its fields by section, the status moves
open to the reader, and its timeline in words (people by name, statuses by label, system notes in the
reader's language), grouped by kind for the timeline's filter.

``crm.views.lead_page`` loads the lead and its events with a fixed number of queries and hands them here;
nothing here queries per event or per field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.timezone import is_aware, localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from . import access, lead_fields, money, system_notes
from .admin_display import EMPTY, local_datetime, yes_no
from .field_spec import LeadField, Section
from .filters import user_label
from .followups import Change
from .forms.leads import LOST_STATUS_KEYS
from .models import FollowUp, Lead, LeadEvent, PipelineStatus, Stage, User
from .money import RateBook, missing_rate_text, other_currency
from .tags import tag_labels

# Timeline ---------------------------------------------------------------------------------------------

KIND_GROUPS: dict[str, tuple[StrOrPromise, tuple[str, ...]]] = {
    "notes": (gettext_lazy("Notes"), (LeadEvent.Kind.NOTE,)),
    "contacts": (
        gettext_lazy("Contacts"),
        (LeadEvent.Kind.CONTACT_ATTEMPT, LeadEvent.Kind.MESSAGE_RECEIVED, LeadEvent.Kind.OPTED_OUT),
    ),
    "follow_ups": (gettext_lazy("Follow-ups"), (LeadEvent.Kind.FOLLOW_UP,)),
    "status": (
        gettext_lazy("Status"),
        (
            LeadEvent.Kind.STATUS_CHANGED,
            LeadEvent.Kind.ASSIGNED,
            LeadEvent.Kind.QUOTED,
            LeadEvent.Kind.WON_VALUE,
        ),
    ),
}
"""The timeline's filter: each group's label and event kinds. Every other kind is the system's."""
SYSTEM_GROUP = "system"
SYSTEM_LABEL = gettext_lazy("System")
GROUP_OF_KIND = {kind: group for group, (_label, kinds) in KIND_GROUPS.items() for kind in kinds}

STATUS_KINDS = (LeadEvent.Kind.STATUS_CHANGED, LeadEvent.Kind.CREATED, LeadEvent.Kind.CLASSIFIED)


def kind_group(kind: str) -> str:
    return GROUP_OF_KIND.get(kind, SYSTEM_GROUP)


def kind_filter(value: Any) -> str:
    """The timeline group a ``?kind=`` value names, or "" (the whole timeline) for anything else."""
    return value if isinstance(value, str) and (value in KIND_GROUPS or value == SYSTEM_GROUP) else ""


def kind_condition(group: str) -> models.Q:
    """The events of ``group`` (see ``kind_filter``), as a condition on events."""
    if group in KIND_GROUPS:
        return models.Q(kind__in=KIND_GROUPS[group][1])
    if group == SYSTEM_GROUP:
        return ~models.Q(kind__in=list(GROUP_OF_KIND))
    return models.Q()


def timeline_groups() -> list[tuple[str, StrOrPromise]]:
    return [*((key, label) for key, (label, _kinds) in KIND_GROUPS.items()), (SYSTEM_GROUP, SYSTEM_LABEL)]


def _field_label(name: str) -> str:
    try:
        field = Lead._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(capfirst(getattr(field, "verbose_name", name)))


def label_event_values(events: Sequence[LeadEvent], statuses: Iterable[PipelineStatus] | None = None) -> None:
    """Give each event readable ``from_label``/``to_label``, ``note_label``, ``actor_label`` and ``group``.

    Statuses by their labels, people by their names, tags by their labels, edited fields by their names;
    a classification that left the status as it was shows no from → to. System notes read in the
    reader's language (``crm.system_notes``). ``statuses``: the statuses, when already loaded.
    """
    status_labels: dict[str, str] = {}
    if any(event.kind in STATUS_KINDS for event in events):
        loaded = PipelineStatus.objects.all() if statuses is None else statuses
        status_labels = {status.key: status.display_label for status in loaded}
    people_ids = {
        person_id for event in events for person_id in _people_named(event) if isinstance(person_id, int)
    }
    people = {}
    if people_ids:
        people = {person.pk: user_label(person) for person in User.objects.filter(pk__in=people_ids)}
    for event in events:
        _label_event(event, status_labels, people)


def _people_named(event: LeadEvent) -> tuple[Any, ...]:
    """Ids of the people an event's data names: who it assigned from and to, who does a follow-up."""
    if event.kind == LeadEvent.Kind.ASSIGNED:
        return (event.data.get("from_id"), event.data.get("to_id"))
    if event.kind == LeadEvent.Kind.FOLLOW_UP:
        return (event.data.get("assignee_id"),)
    return ()


def _when(value: Any) -> str:
    """A stored ISO time in local time, "" when it is none."""
    moment = parse_datetime(value) if isinstance(value, str) else None
    return date_format(localtime(moment), "SHORT_DATETIME_FORMAT") if moment and is_aware(moment) else ""


def follow_up_text(event: LeadEvent, people: dict[Any, str]) -> str:
    """A follow-up event in words: "Scheduled · Call · 12/07/2026 10:00 a.m. · Elena Vendedora"."""
    data = event.data or {}
    change = str(Change(event.to_value).label) if event.to_value in Change.values else event.to_value
    kind = data.get("kind")
    due = _when(data.get("due_at"))
    if data.get("from_due_at") and due:
        due = f"{_when(data.get('from_due_at'))} → {due}"
    parts = [
        capfirst(change),
        str(FollowUp.Kind(kind).label) if kind in FollowUp.Kind.values else "",
        due,
        people.get(data.get("assignee_id"), ""),
    ]
    return " · ".join(part for part in parts if part)


def _label_event(event: Any, status_labels: dict[str, str], people: dict[Any, str]) -> None:
    """Set the display attributes the template reads on one ``LeadEvent``."""
    event.from_label, event.to_label = event.from_value, event.to_value
    event.note_label = system_notes.render(event.note)
    event.actor_label = user_label(event.actor) if event.actor_id and event.actor else ""
    event.group = kind_group(event.kind)
    if event.kind == LeadEvent.Kind.CLASSIFIED and "rules" not in event.data:
        event.from_label = ""
        event.to_label = ", ".join(tag_labels(event.data.get("tags") or event.to_value.split(", ")))
    elif event.kind in STATUS_KINDS:
        event.from_label = status_labels.get(event.from_value, event.from_value)
        event.to_label = status_labels.get(event.to_value, event.to_value)
        if event.from_value == event.to_value:
            event.from_label = event.to_label = ""
    elif event.kind == LeadEvent.Kind.ASSIGNED:
        event.from_label = people.get(event.data.get("from_id"), event.from_value)
        event.to_label = people.get(event.data.get("to_id"), event.to_value) or _("Nobody")
    elif event.kind == LeadEvent.Kind.FOLLOW_UP:
        event.from_label, event.to_label = "", follow_up_text(event, people)
    elif event.kind == LeadEvent.Kind.EDITED:
        event.from_label = ""
        event.to_label = ", ".join(
            _field_label(name.strip()) for name in event.to_value.split(",") if name.strip()
        )


# Fields -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: StrOrPromise
    value: str
    multiline: bool = False


SHOWN_WHEN_EMPTY = frozenset({Section.SYSTEM})
"""Sections that list a field with nothing in it (as "—"); the others show only what the lead has."""


def display_value(lead: Lead, field: LeadField) -> str:
    """A field's value as a person reads it: names not keys, local times, Yes/No, "" for nothing."""
    name = field.name
    if name == "id":
        return f"#{lead.pk}"
    if name == "classification_reason":
        return lead.get_classification_reason_display()
    model_field = field.model_field
    if model_field is None:
        return ""
    if model_field.choices:
        return str(getattr(lead, f"get_{name}_display")()) if getattr(lead, name) not in (None, "") else ""
    value = getattr(lead, name)
    if value is None or value == "":
        return ""
    if isinstance(value, User):
        return user_label(value)
    if isinstance(value, bool):
        return str(yes_no(value))
    if isinstance(value, datetime):
        return local_datetime(value)
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, dict | list):
        return ""
    return str(value)


def _shows(lead: Lead, field: LeadField, value: str) -> bool:
    if field.name == "service_text":
        # What the form said, when it says more than the service it was matched to.
        service = lead.service.name if lead.service_id and lead.service else ""
        return bool(value) and value.casefold() != service.casefold()
    return bool(value) or field.section in SHOWN_WHEN_EMPTY


def field_rows(lead: Lead, section: Section) -> list[FieldRow]:
    """The rows of one section of the lead page."""
    rows = []
    for field in lead_fields.section_fields(section):
        value = display_value(lead, field)
        if _shows(lead, field, value):
            multiline = isinstance(field.model_field, models.TextField)
            rows.append(FieldRow(field.name, field.heading, value or EMPTY, multiline))
    return rows


# Status moves -----------------------------------------------------------------------------------------

PRIMARY_MOVES = 3
"""How many of the next statuses show as buttons; the other moves fold under "More"."""


@dataclass(frozen=True)
class StatusMove:
    status: PipelineStatus
    needs_note: bool
    forward: bool
    needs_date: bool = False

    @property
    def asks(self) -> bool:
        """Whether the move asks something (a reason, a follow-up date) before it is made."""
        return self.needs_note or self.needs_date


def needs_note(status: PipelineStatus) -> bool:
    """A lost or not-viable move asks for its reason (``crm.services.change_status``)."""
    return status.stage == Stage.LOST or status.key in LOST_STATUS_KEYS


def status_moves(
    user: User, lead: Lead, statuses: Iterable[PipelineStatus], has_open_follow_up: bool = False
) -> list[StatusMove]:
    """The statuses ``user`` may move ``lead`` to (``crm.access.statuses_offered``), in pipeline order.

    A move into a status that requires a follow-up asks its date unless the lead has an open follow-up
    (``crm.services.change_status``).
    """
    if not access.can_act_on_lead(user, lead, "change_status"):
        return []
    offered = access.statuses_offered(user, [lead], list(statuses))
    return [
        StatusMove(
            status,
            needs_note(status),
            access.is_forward(lead.status, status),
            needs_date=status.requires_follow_up and not has_open_follow_up,
        )
        for status in offered
    ]


def split_moves(moves: list[StatusMove]) -> tuple[list[StatusMove], list[StatusMove]]:
    """``(buttons, more)``: the next few forward moves within the open pipeline, and every other move."""
    primary = [
        move
        for move in moves
        if move.forward and move.status.stage in (Stage.NEW, Stage.OPEN) and not move.asks
    ][:PRIMARY_MOVES]
    chosen = {move.status.pk for move in primary}
    return primary, [move for move in moves if move.status.pk not in chosen]


# Deal -------------------------------------------------------------------------------------------------


def _converted(amount: Decimal, currency: str, day: date, book: RateBook) -> str:
    """The figure in the other currency at ``day``'s rate, or the note that the rate is missing."""
    other = other_currency(currency)
    converted = book.convert(amount, currency, day, other)
    if converted is None:
        return missing_rate_text(day)
    return _("≈ %(amount)s at the rate of %(day)s") % {
        "amount": money.display(converted, other),
        "day": date_format(day, "SHORT_DATE_FORMAT"),
    }


def deal_rows(lead: Lead, book: RateBook) -> list[FieldRow]:
    """The lead's deal: quote and its date, expected close, won amount and day, lost reason; each amount
    also in the other currency (or a "rate missing" note). Only what the lead has."""
    rows: list[FieldRow] = []
    today = timezone.localdate()
    if lead.quote_amount is not None:
        rows.append(
            FieldRow("quote_amount", _("Quote"), money.display(lead.quote_amount, lead.quote_currency))
        )
        day = lead.quoted_on or today
        rows.append(
            FieldRow(
                "quote_other",
                _("In the other currency"),
                _converted(lead.quote_amount, lead.quote_currency, day, book),
            )
        )
    if lead.quoted_on:
        rows.append(FieldRow("quoted_on", _("Quote date"), date_format(lead.quoted_on, "SHORT_DATE_FORMAT")))
    if lead.expected_close_on:
        rows.append(
            FieldRow(
                "expected_close_on",
                _("Expected close"),
                date_format(lead.expected_close_on, "SHORT_DATE_FORMAT"),
            )
        )
    if lead.won_amount is not None:
        rows.append(
            FieldRow("won_amount", _("Won amount"), money.display(lead.won_amount, lead.won_currency))
        )
        day = lead.won_on or today
        rows.append(
            FieldRow(
                "won_other",
                _("In the other currency"),
                _converted(lead.won_amount, lead.won_currency, day, book),
            )
        )
    if lead.won_on:
        rows.append(FieldRow("won_on", _("Won on"), date_format(lead.won_on, "SHORT_DATE_FORMAT")))
    if lead.lost_reason_id and lead.lost_reason:
        rows.append(FieldRow("lost_reason", _("Lost reason"), lead.lost_reason.display_label))
    return rows


def deal_days(lead: Lead) -> list[date]:
    """The days whose rates the deal's conversions read (none when the lead has no amount)."""
    days = []
    if lead.quote_amount is not None:
        days.append(lead.quoted_on or timezone.localdate())
    if lead.won_amount is not None:
        days.append(lead.won_on or timezone.localdate())
    return days
