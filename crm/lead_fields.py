"""What a lead field is, said once.

Each ``LeadField`` of ``FIELDS`` (see ``crm.field_spec``) declares a field of ``crm.models.Lead``, or a
value shown from others (``stage``, ``age``): its label, how an answer is cleaned for it, which intake
paths fill it, and where it shows: listing column, listing filter, export column, inspect page, search.
The listing, its filters and search (``crm.views.listing``), the export (``crm.exports``), the inspect
page and the admin's new-lead form (``crm.views.leads``), the intake (``crm.intake.LeadData``), the
WordPress mapping (``wordpress.mapping``) and the lead-form mapping (``forms_builder``) read it through
the functions below when they run, so an entry added here shows in all of them. Entries are in
inspect-page order; the listing, its filters and the export order theirs by ``order``.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.db import models
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise
from taggit.models import Tag
from wagtail.admin.filters import DateRangePickerWidget

from crm.field_spec import (
    CHANNELS,
    EVERY_PATH,
    Cell,
    Column,
    Export,
    FieldIndex,
    Filter,
    FormAnswer,
    LeadField,
    Search,
    Section,
    WordPressAnswer,
)
from crm.filters import (
    AssignedWithinFilter,
    AssigneeFilter,
    ContactedFilter,
    DuplicatesFilter,
    NextActionFilter,
    StageFilter,
    TagsFilter,
    user_label,
)
from crm.models import Brand, Campaign, Lead, PipelineStatus, Service, Source
from crm.normalise import clean_utm, clean_value, normalise_email
from crm.tags import tag_labels

# Values shown from the lead -------------------------------------------------------------------------


def _name(obj: Any) -> str:
    return getattr(obj, "name", "") if obj is not None else ""


def service_label(lead: Lead) -> str:
    return lead.service.name if lead.service else lead.service_text


def source_and_campaign(lead: Lead) -> str:
    return " · ".join(str(part) for part in (lead.source, lead.campaign) if part)


def email_address(value: Any) -> str:
    return normalise_email(value)[0]


NO_CONSENT = frozenset({"0", "no", "false", "off", "unchecked", "n"})


def consent_answer(value: Any) -> str:
    """A consent box's answer as the version agreed to: "" when unticked, else the answer as given."""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(item) for item in value if item not in (None, "", False))
    if value is True:
        return "yes"
    text = clean_value(value)
    return "" if text.lower() in NO_CONSENT else text


def clean_multiline(value: Any) -> str:
    return clean_value(value, multiline=True)


def _model_choice(model: type[models.Model], scoped: bool = True) -> Callable[..., django_filters.Filter]:
    """A one-choice filter over ``model``; ``scoped``: the listing narrows its choices to the user's brands."""
    return lambda **options: django_filters.ModelChoiceFilter(
        queryset=model._default_manager.none() if scoped else model._default_manager.all(), **options
    )


def _date_range(**options: Any) -> django_filters.Filter:
    return django_filters.DateFromToRangeFilter(widget=DateRangePickerWidget, **options)


def _utm(name: str, label: StrOrPromise, export: int | None = None) -> LeadField:
    return LeadField(
        name,
        label,
        intake=CHANNELS,
        normalise=clean_utm,
        wordpress=WordPressAnswer(name, (name.replace("_", " "),)),
        export=Export(export) if export else None,
        inspect=Section.ORIGIN,
    )


FIELDS: tuple[LeadField, ...] = (
    LeadField("id", _("ID"), export=Export(10, lambda lead: lead.pk), inspect=Section.SYSTEM),
    LeadField(
        "contact_name",
        _("Contact name"),
        intake=EVERY_PATH,
        wordpress=WordPressAnswer(
            "contact_name", ("Nombre y apellido", "Nombre y apellidos", "Nombre completo", "Nombre", "Name")
        ),
        form=FormAnswer("name", joiner=" ", autocomplete="name"),
        # The title cell: the name (linked to the lead), the company, the email (mailto:) and phone (tel:).
        listing=Column(
            10, _("Name and company"), value=str, sort_key="contact_name", cell=Cell.TITLE, phone=True
        ),
        export=Export(30),
        inspect=Section.HEADER,
        search=Search.TEXT,
    ),
    LeadField(
        "company",
        _("Company"),
        intake=EVERY_PATH,
        wordpress=WordPressAnswer("company", ("Razón social", "Empresa", "Company")),
        form=FormAnswer("company", autocomplete="organization"),
        export=Export(40),
        inspect=Section.HEADER,
        search=Search.TEXT,
    ),
    LeadField(
        "email",
        _("Email"),
        intake=EVERY_PATH,
        normalise=email_address,
        wordpress=WordPressAnswer("email", ("Email", "E-mail", "Correo", "Correo electrónico")),
        form=FormAnswer("email", autocomplete="email"),
        export=Export(50),
        inspect=Section.CONTACT,
        search=Search.TEXT,
    ),
    LeadField(
        "phone",
        _("Phone as given"),
        intake=EVERY_PATH,
        wordpress=WordPressAnswer("phone", ("Teléfono", "Celular", "WhatsApp", "Phone")),
        form=FormAnswer("phone", _("Phone"), autocomplete="tel"),
        export=Export(60),
        inspect=Section.CONTACT,
        search=Search.TEXT,
    ),
    # From ``phone``; the intake works it out when the path does not.
    LeadField(
        "phone_e164",
        _("Phone (E.164)"),
        intake=CHANNELS,
        export=Export(70),
        inspect=Section.CONTACT,
        search=Search.DIGITS,
    ),
    LeadField(
        "location",
        _("Location"),
        intake=EVERY_PATH,
        wordpress=WordPressAnswer("location", ("Ubicación", "Localidad", "Ciudad", "Provincia")),
        form=FormAnswer("location", autocomplete="address-level2"),
        export=Export(80),
        inspect=Section.CONTACT,
    ),
    LeadField(
        "brand",
        _("Brand"),
        intake=EVERY_PATH,
        listing=Column(30, value="brand.name"),
        filter=Filter(40, _model_choice(Brand)),
        export=Export(90, lambda lead: _name(lead.brand)),
        inspect=Section.HEADER,
    ),
    # Matched from ``service_text`` by the channels; chosen by hand.
    LeadField(
        "service",
        _("Service"),
        intake=EVERY_PATH,
        listing=Column(40, value=service_label),
        filter=Filter(50, _model_choice(Service)),
        export=Export(100, service_label),
        inspect=Section.HEADER,
    ),
    LeadField(
        "service_text",
        _("Service as given"),
        intake=CHANNELS,
        wordpress=WordPressAnswer("service", ("Me interesa el servicio", "Servicio")),
        form=FormAnswer("service", _("Service")),
        inspect=Section.REQUEST,
    ),
    LeadField(
        "message",
        _("Message"),
        intake=EVERY_PATH,
        normalise=clean_multiline,
        wordpress=WordPressAnswer("message", ("Mensaje", "Consulta", "Message")),
        form=FormAnswer("message", joiner="\n\n", max_length=5000),
        export=Export(230),
        inspect=Section.REQUEST,
        search=Search.LISTING,
    ),
    LeadField(
        "source",
        _("Source"),
        intake=EVERY_PATH,
        listing=Column(70, _("Source / campaign"), value=source_and_campaign),
        filter=Filter(60, _model_choice(Source, scoped=False)),
        export=Export(140, lambda lead: _name(lead.source)),
        inspect=Section.ORIGIN,
        related=("source", "campaign"),
    ),
    # Matched from the UTM values by the channels; chosen by hand.
    LeadField(
        "campaign",
        _("Campaign"),
        intake=EVERY_PATH,
        filter=Filter(70, _model_choice(Campaign)),
        export=Export(150, lambda lead: _name(lead.campaign)),
        inspect=Section.ORIGIN,
    ),
    _utm("utm_source", _("UTM source"), 160),
    _utm("utm_medium", _("UTM medium"), 170),
    _utm("utm_campaign", _("UTM campaign"), 180),
    _utm("utm_term", _("UTM term")),
    _utm("utm_content", _("UTM content")),
    # Where the channel keeps the submission: a lead per reference.
    LeadField("external_source", intake=CHANNELS, inspect=Section.ORIGIN),
    LeadField("external_form", intake=CHANNELS, inspect=Section.ORIGIN),
    LeadField("external_id", intake=CHANNELS, inspect=Section.ORIGIN),
    LeadField("raw_payload", intake=CHANNELS),
    LeadField("extra", intake=CHANNELS),
    LeadField(
        "status",
        _("Status"),
        listing=Column(50, sort_key="status__order", cell=Cell.STATUS, phone=True),
        filter=Filter(
            10,
            lambda **options: django_filters.ModelMultipleChoiceFilter(
                queryset=PipelineStatus.objects.all(),
                widget=forms.CheckboxSelectMultiple,
                distinct=False,
                **options,
            ),
        ),
        export=Export(110, lambda lead: lead.status.display_label),
        inspect=Section.HEADER,
    ),
    LeadField(
        "stage",
        _("Stage"),
        filter=Filter(20, StageFilter),
        export=Export(120, lambda lead: lead.status.get_stage_display()),
        related=("status",),
    ),
    LeadField(
        "assignee",
        _("Assignee"),
        listing=Column(
            60,
            value=lambda lead: user_label(lead.assignee) if lead.assignee else "",
            sort_key="assignee__username",
        ),
        filter=Filter(30, lambda **options: AssigneeFilter(empty_label=_("Anyone"), **options)),
        export=Export(130, lambda lead: str(lead.assignee) if lead.assignee else ""),
        inspect=Section.HEADER,
    ),
    LeadField(
        "priority",
        _("Priority"),
        export=Export(190, lambda lead: lead.get_priority_display()),
        inspect=Section.HEADER,
    ),
    LeadField(
        "tags",
        _("Tags"),
        filter=Filter(
            110,
            lambda **options: TagsFilter(queryset=Tag.objects.order_by("name"), distinct=False, **options),
        ),
        export=Export(200, lambda lead: ", ".join(sorted(tag_labels(tag.name for tag in lead.tags.all())))),
    ),
    LeadField(
        "duplicate_of",
        _("Duplicate of"),
        filter=Filter(100, DuplicatesFilter, name="duplicates", label=_("Duplicates")),
        export=Export(210, lambda lead: lead.duplicate_of_id or ""),
        related=(),
    ),
    LeadField("classification_reason", inspect=Section.SYSTEM),
    LeadField("skip_alerts", inspect=Section.SYSTEM),
    LeadField("created_by", inspect=Section.SYSTEM),
    LeadField(
        "submitted_at",
        _("Submitted"),
        listing=Column(
            20,
            value=lambda lead: date_format(localtime(lead.submitted_at), "SHORT_DATETIME_FORMAT"),
            sort_key="submitted_at",
        ),
        filter=Filter(80, _date_range, name="submitted"),
        inspect=Section.SYSTEM,
    ),
    LeadField("age", _("Age"), listing=Column(80, value="submitted_at", cell=Cell.AGE, phone=True)),
    LeadField(
        "received_at",
        _("Received"),
        filter=Filter(90, _date_range, name="received"),
        export=Export(20),
        inspect=Section.SYSTEM,
    ),
    LeadField(
        "assigned_at",
        filter=Filter(97, AssignedWithinFilter, name="assigned_within", label=_("Assigned in the last days")),
        inspect=Section.SYSTEM,
    ),
    LeadField(
        "first_contacted_at",
        _("First contacted"),
        filter=Filter(25, ContactedFilter, name="contacted", label=_("Contacted")),
        export=Export(220, lambda lead: lead.first_contacted_at or ""),
        inspect=Section.SYSTEM,
    ),
    LeadField("opted_out_at", inspect=Section.SYSTEM),
    # A consent box on the form: the policy version agreed to (a WordPress answer as given) and when.
    LeadField(
        "consent_version",
        intake=CHANNELS,
        normalise=consent_answer,
        wordpress=WordPressAnswer(
            "consent",
            ("Consentimiento", "Acepto", "Política de privacidad", "Privacidad", "Consent", "Privacy policy"),
        ),
        inspect=Section.ORIGIN,
    ),
    LeadField("consent_at", intake=CHANNELS, inspect=Section.ORIGIN),
    # The earliest open follow-up's due time (``crm.followups`` keeps it).
    LeadField(
        "next_action_at",
        _("Next action"),
        listing=Column(55, sort_key="next_action_at", cell=Cell.NEXT_ACTION),
        filter=Filter(27, NextActionFilter, name="next_action"),
    ),
    LeadField("status_changed_at", inspect=Section.SYSTEM),
    LeadField("last_activity_at", inspect=Section.SYSTEM),
    LeadField("updated_at", inspect=Section.SYSTEM),
)


# Reading the declaration -----------------------------------------------------------------------------


_index: FieldIndex | None = None


def _current() -> FieldIndex:
    """The index of ``FIELDS``, worked out again whenever ``FIELDS`` is another tuple (tests declare more)."""
    global _index
    if _index is None or _index.fields is not FIELDS:
        _index = FieldIndex(FIELDS)
    return _index


def get(name: str) -> LeadField:
    return _current().by_name[name]


def intake_names() -> tuple[str, ...]:
    """The fields a ``LeadData`` carries into the lead, in declaration order."""
    return _current().intake_names


def intake_relations() -> tuple[str, ...]:
    return _current().intake_relations


def manual_names() -> tuple[str, ...]:
    """The fields of the admin's new-lead form."""
    return _current().manual_names


def wordpress_answers() -> tuple[tuple[LeadField, WordPressAnswer], ...]:
    """The fields WordPress answers fill, each with how."""
    return _current().wordpress


def wordpress_keys() -> frozenset[str]:
    """The lead fields a WordPress form's field mapping may name."""
    return _current().wordpress_keys


def wordpress_labels() -> dict[str, str]:
    """Folded WordPress field label → the key of the lead field it fills unless the mapping says otherwise."""
    return _current().wordpress_labels


def form_answer(key: str) -> LeadField | None:
    """The lead field a lead form field with ``lead_field`` ``key`` fills (None: none, e.g. extra)."""
    return _current().form_answers.get(key)


def form_choices() -> list[tuple[str, StrOrPromise]]:
    """The lead fields a lead form field may fill, as model field choices (read when models load)."""
    return [(field.form.key, field.form_label) for field in FIELDS if field.form]


def listing_fields() -> tuple[LeadField, ...]:
    return _current().listing


def filter_fields() -> tuple[LeadField, ...]:
    return _current().filters


def export_fields() -> tuple[LeadField, ...]:
    return _current().export


def inspect_names() -> tuple[str, ...]:
    return _current().inspect_names


def section_fields(section: Section) -> tuple[LeadField, ...]:
    """The fields the lead page shows in ``section``, in declaration order."""
    return _current().sections[section]


def search_names(*, chooser: bool = False) -> list[str]:
    """The fields the listing's search (or, ``chooser``, the lead chooser's) looks for the text in."""
    names = _current().search_names
    return names[Search.TEXT] if chooser else [*names[Search.TEXT], *names[Search.LISTING]]


def digit_search_names() -> list[str]:
    return _current().search_names[Search.DIGITS]


def listing_related() -> tuple[str, ...]:
    """The relations the listing's cells and the export read (``select_related``)."""
    return _current().listing_related


def detail_related() -> tuple[str, ...]:
    """The relations the inspect page's fields read."""
    return _current().detail_related


def listing_deferred() -> tuple[str, ...]:
    """Long text and JSON columns the listing does not show (the export reads them)."""
    return _current().listing_deferred


class FieldValues:
    """A value for every field some intake path fills (``intake_names``): the one given, else the model
    field's default. A keyword naming no such field is a ``TypeError``, so nothing given is dropped."""

    def __init__(self, **values: Any) -> None:
        self.fill(values)

    def fill(self, values: dict[str, Any]) -> None:
        index = _current()
        if not index.accepted.issuperset(values):
            unknown = ", ".join(sorted(set(values) - index.accepted))
            raise TypeError(f"{type(self).__name__} got fields no intake fills: {unknown}")
        state = self.__dict__
        state.update(index.defaults)
        for name, factory in index.default_factories:
            state[name] = factory()
        state.update(values)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None  # type: ignore[assignment]

    if TYPE_CHECKING:
        # The declared fields are set by ``fill``; to the type checker each is some value.
        def __getattr__(self, name: str) -> Any: ...

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({values})"
