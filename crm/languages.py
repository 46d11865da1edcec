"""Names kept in English and Spanish (statuses, sources, rules, reasons): the one for the active language."""

from django.utils.translation import get_language


def is_spanish() -> bool:
    return (get_language() or "en").lower().startswith("es")


def localised(english: str, spanish: str) -> str:
    """``spanish`` when the active language is Spanish and there is one, else ``english``."""
    return spanish if spanish and is_spanish() else english
