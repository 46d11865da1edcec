"""The CUIT (Clave Única de Identificación Tributaria) of an Argentine taxpayer: 11 digits, the last one a
check digit (modulo 11 over the first ten with the weights 5 4 3 2 7 6 5 4 3 2)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LENGTH = 11
WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
PREFIXES = frozenset({"20", "23", "24", "27", "30", "33", "34"})
"""People (20, 23, 24, 27) and companies (30, 33, 34)."""

_SEPARATORS = re.compile(r"[\s.\-/]")


def check_digit(first_ten: str) -> int | None:
    """The check digit of the first ten digits, or None when no digit fits (the remainder gives 10)."""
    remainder = sum(int(digit) * weight for digit, weight in zip(first_ten, WEIGHTS, strict=True)) % 11
    digit = 11 - remainder
    if digit == 11:
        return 0
    if digit == 10:
        return None
    return digit


def normalise(value: str) -> str:
    """The CUIT as stored (11 digits, no dashes, dots or spaces); raises ``ValidationError`` if invalid."""
    text = _SEPARATORS.sub("", str(value or ""))
    if not text.isdigit() or len(text) != LENGTH:
        raise ValidationError(_("A CUIT has 11 digits, e.g. 30-71234567-1."), code="cuit_length")
    if text[:2] not in PREFIXES:
        raise ValidationError(
            _("A CUIT starts with 20, 23, 24, 27, 30, 33 or 34; “%(prefix)s” is not one of them.")
            % {"prefix": text[:2]},
            code="cuit_prefix",
        )
    expected = check_digit(text[:10])
    if expected is None or int(text[10]) != expected:
        raise ValidationError(
            _("The CUIT's check digit is wrong: check the number on the invoice or AFIP's record."),
            code="cuit_check_digit",
        )
    return text


def normalised_or_empty(value: object) -> str:
    """The stored form of ``value`` if it is a valid CUIT, else ""."""
    try:
        return normalise(str(value or ""))
    except ValidationError:
        return ""


def formatted(cuit: str) -> str:
    """``30712345671`` as people write it: ``30-71234567-1``."""
    return f"{cuit[:2]}-{cuit[2:10]}-{cuit[10:]}" if len(cuit) == LENGTH else cuit


def validate(value: str) -> None:
    """A model field validator."""
    normalise(value)
