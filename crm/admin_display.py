"""How stored values read in the admin: local times, Yes/No, a dash for nothing, people by name.

Wagtail's inspect views print a field's value with ``|localize``: a datetime in UTC, ``True``,
``None`` or a Python dict as they are. The display classes registered here (for every model) print
times in ``TIME_ZONE``, booleans as a translated Yes/No, an em dash for nothing and JSON as JSON.
"""

import json
from datetime import date, datetime

from django.db import models
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import conditional_escape, format_html
from django.utils.translation import gettext as _
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.fields import register_display_class

EMPTY = "—"


def yes_no(value):
    return _("Yes") if value else _("No")


def local_datetime(value, format_name="DATETIME_FORMAT"):
    """An aware datetime in the current time zone (``TIME_ZONE`` unless activated otherwise)."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, format_name)


def display_text(value):
    """One stored value as a person reads it."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, datetime):
        return local_datetime(value)
    if isinstance(value, date):
        return date_format(value, "DATE_FORMAT")
    return str(localize(value))


class ValueDisplay(Component):
    """A field value in an inspect view, as ``display_text`` reads it."""

    def __init__(self, value):
        self.value = value

    def render_html(self, parent_context=None):
        return conditional_escape(display_text(self.value))


class JSONDisplay(ValueDisplay):
    """Structured data shown as indented JSON, not a Python repr."""

    def render_html(self, parent_context=None):
        if self.value in (None, "", {}, []):
            return EMPTY
        return format_html(
            '<pre class="crm-json">{}</pre>',
            json.dumps(self.value, indent=2, ensure_ascii=False, default=str),
        )


def register_display_classes():
    register_display_class(models.Field, display_class=ValueDisplay)
    register_display_class(models.JSONField, display_class=JSONDisplay)
    register_display_class(models.ForeignKey, to=models.Model, display_class=ValueDisplay)
