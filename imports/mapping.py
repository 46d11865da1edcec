"""Which lead field each column fills: guessed from its heading (Spanish or English), or as the person saved it.

The fields a spreadsheet may fill are those ``crm.lead_fields`` declares for ``Intake.IMPORT`` that take
an answer (the contact, the request, the UTM values); a heading matches a field by the field's name, its
label in either language, or the labels WordPress forms use for it. The submission date is the one
column more.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from crm import lead_fields
from crm.field_spec import Intake, LeadField
from crm.normalise import fold

IGNORE = ""
SUBMITTED_AT = "submitted_at"
# Headings spreadsheets use that no form label says; the fields' own labels come from ``crm.lead_fields``.
_MORE_HEADINGS = {
    SUBMITTED_AT: (
        "Fecha",
        "Fecha de envío",
        "Fecha de alta",
        "Fecha y hora",
        "Date",
        "Submitted",
        "Created",
    ),
    "contact_name": ("Nombre y Apellido", "Apellido y nombre", "Contacto", "Full name", "Contact"),
    "phone": ("Tel", "Teléfono celular", "Móvil", "Mobile", "Phone number", "Telephone"),
    "message": ("Comentarios", "Comentario", "Observaciones", "Comments", "Notes"),
    "location": ("City", "Province", "Location"),
}


def import_fields() -> list[LeadField]:
    """The lead fields a column may fill, in the declaration's order."""
    return [field for field, _answer in lead_fields.wordpress_answers() if Intake.IMPORT in field.intake]


def targets() -> list[tuple[str, StrOrPromise]]:
    """``(value, label)`` of every choice a column has: nothing, a lead field, the submission date."""
    return [
        (IGNORE, _("— do not import —")),
        *((field.name, field.heading) for field in import_fields()),
        (SUBMITTED_AT, _("Submitted (date)")),
    ]


def target_names() -> frozenset[str]:
    return frozenset(value for value, _label in targets())


def _headings() -> dict[str, str]:
    """Folded heading → the target it fills."""
    found: dict[str, str] = {}

    def add(text: object, target: str) -> None:
        key = fold(str(text))
        if key:
            found.setdefault(key, target)

    for field, answer in lead_fields.wordpress_answers():
        if Intake.IMPORT not in field.intake:
            continue
        add(field.name, field.name)
        add(field.name.replace("_", " "), field.name)
        for language in ("en", "es-ar"):
            with translation.override(language):
                add(field.heading, field.name)
        for label in answer.labels:
            add(label, field.name)
    for target, labels in _MORE_HEADINGS.items():
        for label in labels:
            add(label, target)
    with translation.override("es-ar"):
        add(_("Submitted (date)"), SUBMITTED_AT)
    add("Submitted (date)", SUBMITTED_AT)
    return found


def guess(headers: list[str], saved: dict[str, str] | None = None) -> list[str]:
    """The target of each column: the saved one for its heading, else the one its heading names.

    A target goes to the first column that claims it; later ones are left out.
    """
    saved = saved or {}
    names = target_names()
    headings = _headings()
    chosen: list[str] = []
    for header in headers:
        key = fold(header)
        target = saved.get(key)
        if target is None or target not in names:
            target = headings.get(key, IGNORE)
        chosen.append(IGNORE if target != IGNORE and target in chosen else target)
    return chosen


def to_saved(headers: list[str], columns: list[str]) -> dict[str, str]:
    """A mapping to keep for the next file: folded heading → target."""
    return {fold(header): target for header, target in zip(headers, columns, strict=False) if fold(header)}


def clean_columns(headers: list[str], columns: list[str]) -> list[str]:
    """``columns`` as given for ``headers``, unknown targets and repeats left out."""
    names = target_names()
    result: list[str] = []
    for index in range(len(headers)):
        target = columns[index] if index < len(columns) else IGNORE
        result.append(target if target in names and (target == IGNORE or target not in result) else IGNORE)
    return result
