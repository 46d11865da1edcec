from django import template
from django.http import QueryDict
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from dashboards import tables

register = template.Library()

DECIMALS = {
    tables.INTEGER: 0,
    tables.DECIMAL: 2,
    tables.PERCENT: 1,
    tables.HOURS: 1,
    tables.DAYS: 1,
    tables.MONEY: 2,
    tables.MONEY_USD: 2,
}


@register.filter
def cell(value, kind):
    """A table value formatted for the active language (thousand separators, decimal comma in Spanish)."""
    kind = kind or tables.INTEGER
    if value is None or value == "":
        return "—"
    if kind == tables.DATE:
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if kind == tables.DATETIME:
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if kind == tables.TEXT:
        return value
    decimals = DECIMALS.get(kind, 0)
    number = round(float(value) * 100 if kind == tables.PERCENT else float(value), decimals)
    text = formats.number_format(number, decimals, use_l10n=True, force_grouping=True)
    if kind == tables.PERCENT:
        return f"{text} %"
    if kind == tables.HOURS:
        return _("%(hours)s h") % {"hours": text}
    if kind == tables.DAYS:
        return _("%(days)s d") % {"days": text}
    if kind == tables.MONEY:
        return f"$ {text}"
    if kind == tables.MONEY_USD:
        return f"US$ {text}"
    return text


@register.simple_tag
def table_cells(table, row):
    """A row's cells, each value formatted by ``cell`` (the link column's a link to the row's page): what a
    loop over the columns in the template wrote, in one call for a row (a table has hundreds of cells)."""
    return format_html_join(
        "", '<td data-column="{}">{}</td>', (_cell(table, row, column) for column in table.columns)
    )


def _cell(table, row, column):
    value = row.get(column.key)
    if column.key == table.link_column and row.get("url"):
        return column.key, format_html('<a href="{}">{}</a>', row["url"], value)
    return column.key, cell(value, column.kind)


@register.filter
def signed_percent(value):
    if value is None:
        return "—"
    text = formats.number_format(round(value * 100, 1), 1, use_l10n=True, force_grouping=True)
    return f"+{text} %" if value > 0 else f"{text} %"


@register.filter
def field_label(form, name):
    return form.fields[name].label if name in form.fields else name


@register.simple_tag
def sort_query(query, key, current):
    """The current query string sorted by ``key``, toggling the direction when it is already sorted by it."""
    params = QueryDict(query, mutable=True)
    params["sort"] = f"-{key}" if current == key else key
    return params.urlencode()
