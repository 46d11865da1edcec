"""What a lead field's declaration in ``crm.lead_fields`` can say, and the index its readers work from."""

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import django_filters
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst
from django_stubs_ext import StrOrPromise

from crm.models import Lead
from crm.normalise import clean_value, fold


class Intake(enum.Enum):
    """The paths by which leads come in."""

    WORDPRESS = "wordpress"  # WordPress pulls, webhooks and retries (``wordpress.mapping``)
    LEAD_FORM = "lead_form"  # the site's lead form pages (``forms_builder``)
    MANUAL = "manual"  # a person's new-lead form in the admin
    IMPORT = "import"  # spreadsheet imports (none yet)
    API = "api"  # the API (none yet)


EVERY_PATH = frozenset(Intake)
CHANNELS = frozenset({Intake.WORDPRESS, Intake.LEAD_FORM, Intake.IMPORT, Intake.API})


class Cell(enum.Enum):
    """How a listing column draws its cell (``crm.views.columns``)."""

    TITLE = "title"  # the row's name, linked to the lead, its email and phone links, badges and buttons
    TEXT = "text"
    STATUS = "status"  # the status badge in the status's colour
    AGE = "age"  # time since, the exact time on hover
    NEXT_ACTION = "next_action"  # a local date and time, marked when it is past


class Section(enum.Enum):
    """Where the lead page shows a field (``inspect=``); ``inspect=True`` is ``REQUEST``."""

    HEADER = "header"  # in the page's header (status, assignee, priority), not repeated below
    CONTACT = "contact"  # who asked and how to reach them
    REQUEST = "request"  # what they asked for
    ORIGIN = "origin"  # where the lead came from (source, campaign, UTM, external reference)
    SYSTEM = "system"  # folded away: ids, times, flags the system keeps


class Search(enum.Enum):
    """How the listing's search box (``?q=``) looks in a field, through ``Lead.search_text`` (``crm.search``;
    declaring a field searched changes that text: refill it with a data migration)."""

    TEXT = "text"  # holds the query's words, whatever their case, accents and punctuation; the chooser too
    LISTING = "listing"  # as TEXT, in the listing only (long texts)
    DIGITS = "digits"  # holds a phone number query's digits (six or more), however either is written


@dataclass(frozen=True)
class Column:
    """The field's column in the lead listing, at ``order`` among the others.

    ``label``: its heading (None: the field's label); ``value``: an attribute path or a function of the
    lead (None: the field); ``sort_key``: what sorting by it orders by (None: it does not sort);
    ``phone``: it stays on a phone's narrow screen, where the listing hides the other columns.
    """

    order: int
    label: StrOrPromise | None = None
    value: str | Callable[[Lead], Any] | None = None
    sort_key: str | None = None
    cell: Cell = Cell.TEXT
    phone: bool = False


@dataclass(frozen=True)
class Filter:
    """The field's filter in the lead listing, at ``order`` among the others.

    ``make(label=...)`` builds it (None: django-filter's filter for the model field and ``lookup``);
    ``name``: its query parameter (None: the field's name); ``label``: None for the field's label.
    """

    order: int
    make: Callable[..., django_filters.Filter] | None = None
    name: str | None = None
    label: StrOrPromise | None = None
    lookup: str = "exact"


@dataclass(frozen=True)
class Export:
    """The field's column in the CSV and XLSX exports, at ``order``, headed by the field's label.

    ``value``: a function of the lead (None: the field's value).
    """

    order: int
    value: Callable[[Lead], Any] | None = None


@dataclass(frozen=True)
class WordPressAnswer:
    """A WordPress form field fills the lead field when the form's field mapping names ``key`` for it or,
    unmapped, when its label is one of ``labels`` (compared ignoring case, accents and punctuation)."""

    key: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormAnswer:
    """A lead form field fills the lead field when its ``lead_field`` is ``key``.

    ``label``: the choice in the page editor (None: the field's label). ``joiner``: several answers are
    joined with it (None: the first fills the field, the others are kept as extra). ``max_length``: the
    longest answer the form takes (None: the model field's).
    """

    key: str
    label: StrOrPromise | None = None
    joiner: str | None = None
    autocomplete: str = "on"
    max_length: int | None = None


@dataclass(frozen=True)
class LeadField:
    """One lead field: its label, the paths that fill it, how an answer is cleaned for it and where it shows.

    ``name``: a ``Lead`` field, or a value shown from others (``stage``, ``age``). ``label``: None for the
    model field's verbose name. ``inspect``: the lead page's section that shows it (True: ``REQUEST``). ``intake``: the paths whose ``LeadData`` carries it (a column of the lead
    only). ``normalise``: a WordPress or lead form answer to the field's value. ``related``: the relations
    its cells read, joined by the listing and inspect queries (None: itself if it is a foreign key).
    """

    name: str
    label: StrOrPromise | None = None
    intake: frozenset[Intake] = frozenset()
    normalise: Callable[[Any], str] = clean_value
    wordpress: WordPressAnswer | None = None
    form: FormAnswer | None = None
    listing: Column | None = None
    filter: Filter | None = None
    export: Export | None = None
    inspect: bool | Section = False
    search: Search | None = None
    related: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.wordpress and Intake.WORDPRESS not in self.intake:
            raise ValueError(
                f"{self.name}: a WordPress answer fills it, so WordPress must be one of its paths."
            )
        if self.form and Intake.LEAD_FORM not in self.intake:
            raise ValueError(
                f"{self.name}: a lead form answer fills it, so the lead form must be one of its paths."
            )

    @property
    def section(self) -> Section | None:
        """The lead page's section of the field, or None when the page does not show it."""
        if isinstance(self.inspect, Section):
            return self.inspect
        return Section.REQUEST if self.inspect else None

    @cached_property
    def model_field(self) -> Any:
        """The ``Lead`` model field, or None for a value shown from others."""
        try:
            return Lead._meta.get_field(self.name)
        except FieldDoesNotExist:
            return None

    @property
    def heading(self) -> StrOrPromise:
        return self.label if self.label is not None else capfirst(self.model_field.verbose_name)

    @cached_property
    def max_length(self) -> int | None:
        return getattr(self.model_field, "max_length", None)

    def fit(self, value: str) -> str:
        """``value`` cut to the model field's length."""
        return value[: self.max_length] if self.max_length and len(value) > self.max_length else value

    def joins(self) -> tuple[str, ...]:
        if self.related is not None:
            return self.related
        return (self.name,) if getattr(self.model_field, "many_to_one", False) else ()

    def export_value(self, lead: Lead) -> Any:
        return self.export.value(lead) if self.export and self.export.value else getattr(lead, self.name)

    @property
    def form_label(self) -> StrOrPromise:
        return self.form.label if self.form and self.form.label is not None else self.heading

    @property
    def form_max_length(self) -> int | None:
        return self.form.max_length if self.form and self.form.max_length else self.max_length


def _distinct(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _ordered(fields: Iterable[LeadField], place: Callable[[LeadField], Any]) -> tuple[LeadField, ...]:
    return tuple(sorted((field for field in fields if place(field)), key=lambda field: place(field).order))


class FieldIndex:
    """What the readers of a declaration (a tuple of ``LeadField``) ask of it, worked out once."""

    def __init__(self, fields: tuple[LeadField, ...]) -> None:
        self.fields = fields
        self.by_name = {field.name: field for field in fields}
        intake = [field for field in fields if field.intake]
        for field in intake:
            if field.model_field is None or not field.model_field.concrete:
                raise ValueError(f"{field.name}: only a column of the lead can come in with a new lead.")
        self.intake_names = tuple(field.name for field in intake)
        self.accepted = frozenset(self.intake_names)
        self.intake_relations = tuple(field.name for field in intake if field.model_field.is_relation)
        self.defaults: dict[str, Any] = {}
        self.default_factories: list[tuple[str, Callable[[], Any]]] = []
        for field in intake:
            if field.model_field.has_default() and callable(field.model_field.default):
                self.default_factories.append((field.name, field.model_field.default))
            else:
                self.defaults[field.name] = field.model_field.get_default()
        self.manual_names = tuple(field.name for field in intake if Intake.MANUAL in field.intake)
        self.wordpress = tuple((field, field.wordpress) for field in fields if field.wordpress)
        self.wordpress_keys = frozenset(answer.key for _field, answer in self.wordpress)
        self.wordpress_labels = {
            fold(label): answer.key for _field, answer in self.wordpress for label in answer.labels
        }
        self.form_answers = {field.form.key: field for field in fields if field.form}
        counts = (len(self.by_name), len(self.wordpress_keys), len(self.form_answers))
        if counts != (len(fields), len(self.wordpress), sum(1 for field in fields if field.form)):
            raise ValueError("Two lead fields share a name, a WordPress key or a lead form key.")
        self.listing = _ordered(fields, lambda field: field.listing)
        self.filters = _ordered(fields, lambda field: field.filter)
        self.export = _ordered(fields, lambda field: field.export)
        self.inspect_names = tuple(field.name for field in fields if field.inspect)
        self.sections: dict[Section, tuple[LeadField, ...]] = {
            section: tuple(field for field in fields if field.section is section) for section in Section
        }
        self.search_names = {
            kind: [field.name for field in fields if field.search is kind] for kind in Search
        }
        self.listing_related = _distinct(
            name for field in fields if field.listing or field.export for name in field.joins()
        )
        self.detail_related = _distinct(name for field in fields if field.inspect for name in field.joins())
        shown = {field.name for field in self.listing}
        self.listing_deferred = tuple(
            model_field.name
            for model_field in Lead._meta.concrete_fields
            if isinstance(model_field, models.TextField | models.JSONField) and model_field.name not in shown
        )
