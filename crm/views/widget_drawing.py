"""The lead listing's filter widgets drawn in Python, to the character as their templates draw them.

The listing's filter sidebar holds some 17 fields and over a hundred options; drawn through Django's
widget templates (an include per option, another per attribute list) it cost a listing page about as much
as its fifty rows. ``WidgetRenderer`` draws the widget templates below in Python, the markup each file
writes, whitespace included, and everything else (another widget's template, a form's or an error list's)
as Django's default renderer does. It draws them only while the renderer's template engine finds each of
them in Django's or Wagtail's own files: an app that overrides one gets all of them drawn by the
templates. ``tests/crm/test_listing_filters.py`` compares both drawings of every filter.
"""

import html
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import django
import wagtail
from django.forms.renderers import DjangoTemplates
from django.template.base import render_value_in_context
from django.template.defaultfilters import escapejs_filter
from django.utils.safestring import SafeData

DJANGO_TEMPLATES = Path(django.__file__).resolve().parent / "forms" / "templates"
WAGTAIL_TEMPLATES = Path(wagtail.__file__).resolve().parent / "admin" / "templates"


class _TemplateContext:
    """What ``render_value_in_context`` reads of a widget template's context (as the renderer makes it)."""

    autoescape = True
    use_l10n = None
    use_tz = None


_CONTEXT = _TemplateContext()


class CannotDraw(Exception):
    """A widget asks for a template drawn here by another (its options' template): the templates draw it."""


def _text(value: Any) -> str:
    """``{{ value }}``."""
    if type(value) is str:
        return html.escape(value)
    return render_value_in_context(value, _CONTEXT)


def _string(value: Any) -> str:
    """``{{ value|stringformat:'s' }}`` (the filter keeps a safe value safe)."""
    if isinstance(value, tuple):
        value = str(value)
    try:
        text = "%s" % value  # noqa: UP031 - the filter's own formatting
    except (ValueError, TypeError):
        return ""
    return text if isinstance(value, SafeData) else html.escape(text)


def _get(mapping: Any, key: str) -> Any:
    """A template's ``mapping.key`` on a widget's dict: "" when missing."""
    return mapping.get(key, "")


def attributes(values: dict[str, Any]) -> str:
    """HTML attributes as ``django/forms/widgets/attrs.html`` and Wagtail's ``shared/attrs.html`` write them:
    True gives the name alone, False leaves it out."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_string(value)}"'
        for name, value in values.items()
        if value is not False
    )


def attrs(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``."""
    return attributes(widget["attrs"])


def input_(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/input.html``."""
    value = f' value="{_string(widget["value"])}"' if widget["value"] != None else ""  # noqa: E711 - as the template
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{attrs(widget)}>\n'


def input_include(widget: dict[str, Any]) -> str:
    """The templates that include ``input.html`` alone (text, number, date, hidden...)."""
    return input_(widget) + "\n"


def select_option(option: dict[str, Any]) -> str:
    """``django/forms/widgets/select_option.html``."""
    return f'<option value="{_string(option["value"])}"{attrs(option)}>{_text(option["label"])}</option>\n'


def input_option(option: dict[str, Any]) -> str:
    """``django/forms/widgets/input_option.html``."""
    if not option["wrap_label"]:
        return input_(option) + "\n"
    option_id = _get(option["attrs"], "id")
    label_for = f' for="{_text(option_id)}"' if option_id else ""
    return f"<label{label_for}>{input_(option)} {_text(option['label'])}</label>\n"


def checkbox_option(option: dict[str, Any]) -> str:
    """``django/forms/widgets/checkbox_option.html`` (and ``radio_option.html``)."""
    return input_option(option) + "\n"


def select(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/select.html``."""
    out = [f'<select name="{_text(widget["name"])}"{attrs(widget)}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_text(group_name)}">')
        out.extend("\n  " + draw_option(option) for option in group_choices)
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>\n")
    return "".join(out)


def multiple_input(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/multiple_input.html``."""
    widget_id, classname = _get(widget["attrs"], "id"), _get(widget["attrs"], "class")
    out = [
        "<div",
        f' id="{_text(widget_id)}"' if widget_id else "",
        f' class="{_text(classname)}"' if classname else "",
        ">",
    ]
    for group, options, _index in widget["optgroups"]:
        if group:
            out.append(f"\n  <div><label>{_text(group)}</label>")
        out.extend(f"<div>\n    {draw_option(option)}</div>" for option in options)
        if group:
            out.append("\n  </div>")
    out.append("\n</div>\n")
    return "".join(out)


def multiple_input_include(widget: dict[str, Any]) -> str:
    """``checkbox_select.html`` and ``radio.html``: ``multiple_input.html`` included."""
    return multiple_input(widget) + "\n"


def range_input(widget: dict[str, Any]) -> str:
    """Wagtail's ``wagtailadmin/widgets/range_input.html``."""
    subwidgets = "".join(draw_option(subwidget) for subwidget in widget["subwidgets"])
    return f'<div class="w-flex w-flex-col w-gap-4">\n    {subwidgets}\n</div>\n'


def date_input(widget: dict[str, Any]) -> str:
    """Wagtail's ``wagtailadmin/widgets/date_input.html``."""
    chooser_id = escapejs_filter(_get(widget["attrs"], "id"))
    config = _get(widget, "config_json")
    return f'{input_include(widget)}<script>initDateChooser("{chooser_id}", {config});</script>'


DRAWINGS: dict[str, tuple[Path, Callable[[dict[str, Any]], str]]] = {
    **{
        f"django/forms/widgets/{name}.html": (DJANGO_TEMPLATES, drawing)
        for name, drawing in {
            "input": input_,
            "text": input_include,
            "number": input_include,
            "date": input_include,
            "hidden": input_include,
            "select": select,
            "select_option": select_option,
            "input_option": input_option,
            "checkbox_option": checkbox_option,
            "radio_option": checkbox_option,
            "multiple_input": multiple_input,
            "checkbox_select": multiple_input_include,
            "radio": multiple_input_include,
        }.items()
    },
    "wagtailadmin/widgets/range_input.html": (WAGTAIL_TEMPLATES, range_input),
    "wagtailadmin/widgets/date_input.html": (WAGTAIL_TEMPLATES, date_input),
}
"""Template name → (the directory whose copy of it is drawn here, the drawing)."""


def draw_option(option: dict[str, Any]) -> str:
    """An option's or a subwidget's own template, as the including template's ``{% include %}`` writes it
    (a renderer draws in Python only when it finds all of ``DRAWINGS`` in their own directories)."""
    drawing = DRAWINGS.get(option["template_name"])
    if drawing is None:
        raise CannotDraw(option["template_name"])
    return drawing[1](option)


class WidgetRenderer(DjangoTemplates):
    """Django's default form renderer, with the widget templates of ``DRAWINGS`` drawn in Python."""

    @cached_property
    def drawings(self) -> dict[str, Callable[[dict[str, Any]], str]]:
        """``DRAWINGS`` when this renderer's engine finds every one of them in its own directory, else none."""
        for name, (directory, _drawing) in DRAWINGS.items():
            origin = self.get_template(name).origin.name  # type: ignore[attr-defined]
            if Path(origin).resolve() != directory / name:
                return {}
        return {name: drawing for name, (_directory, drawing) in DRAWINGS.items()}

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        drawing = self.drawings.get(template_name)
        if drawing is not None:
            try:
                return drawing(context["widget"]).strip()
            except CannotDraw:
                pass
        return super().render(template_name, context, request=request)


FILTER_WIDGETS = WidgetRenderer()
