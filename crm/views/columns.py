"""Columns of the lead listing, drawn a page at a time rather than one template per cell.

A listing page holds 50 rows × 10 cells. ``LeadTable`` draws the table's body in one pass: each column
draws the cells of all the page's rows at once (``render_cells``), so what is the same on every row — the
translated labels, the URL around the row's id, the row's "More" menu, a status's badge — is worked out
once per page, and the rows go out without a template tag per cell. The markup is the one Wagtail's cell
templates draw, so the admin's scripts and styles apply unchanged (``tests/crm/test_listing_rows.py``).
"""

import html
import re
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.timezone import template_localtime
from django.utils.translation import gettext, pgettext
from wagtail.admin.ui.tables import BulkActionsCheckboxColumn, Column, Table, TitleColumn
from wagtail.admin.widgets.button import BaseDropdownMenuButton

from crm.duplicates import DUPLICATE_TAG
from crm.tags import tag_label
from crm.templatetags.crm_leads import status_badge
from crm.views.widget_drawing import attributes

LISTING_TAGS = "listing_tags"
"""The attribute the listing's query puts each lead's tags in (a list), for the title cell's badges."""


def _esc(value: Any) -> str:
    """``conditional_escape``, with its common case (a plain ``str`` from the database) taken directly."""
    if type(value) is str:
        return html.escape(value)
    return conditional_escape(value)


def _icon(name, classname="icon"):
    if not name:
        return ""
    return format_html(
        '<svg class="icon icon-{name} {classname}" aria-hidden="true"><use href="#icon-{name}"></use></svg>',
        name=name,
        classname=classname,
    )


def _menu_item(button):
    """One entry of a dropdown, as ``wagtailadmin/shared/dropdown/dropdown_button.html`` draws it."""
    if button.url:
        return format_html(
            '<a href="{}" class="{}"{}>{}{}</a>',
            button.url,
            button.classname,
            button.base_attrs_string,
            _icon(button.icon_name),
            button.label,
        )
    return format_html(
        '<button class="{}"{}>{}{}</button>',
        button.classname,
        button.base_attrs_string,
        _icon(button.icon_name),
        button.label,
    )


def _dropdown(button):
    """A "More" menu, as ``wagtailadmin/shared/button_with_dropdown.html`` draws it."""
    return format_html(
        '<div data-controller="w-dropdown" class="w-dropdown"{attrs}>'
        '<button type="button" class="w-dropdown__toggle w-dropdown__toggle--icon" '
        'data-w-dropdown-target="toggle" aria-label="{title}">{icon}{label}</button>'
        '<div data-w-dropdown-target="content" class="w-dropdown__content" hidden>{items}</div></div>',
        attrs=button.base_attrs_string,
        title=button.aria_label,
        icon=_icon(button.icon_name, "w-dropdown__toggle-icon"),
        label=button.label,
        items=format_html_join("", "{}", ((_menu_item(item),) for item in sorted(button.dropdown_buttons))),
    )


class IdUrl:
    """``reverse(name, args=[quote(pk)])`` for the rows of a page: reversed once with a stand-in id, then
    each row's id put in its place. Made per request (the listing's columns are), so the URL's prefix is
    the request's."""

    STAND_IN = "9081726354"

    def __init__(self, name: str) -> None:
        self.name = name
        self._around: list[str] | None = None

    def __call__(self, instance: Any) -> str:
        pk = instance.pk
        if type(pk) is not int:
            return reverse(self.name, args=[quote(pk)])
        if self._around is None:
            self._around = reverse(self.name, args=[self.STAND_IN]).split(self.STAND_IN)
        if len(self._around) != 2:  # the stand-in is not where the id goes alone
            return reverse(self.name, args=[pk])
        return f"{self._around[0]}{pk}{self._around[1]}"


class _RowStandIn:
    """A row as its buttons see it when they depend on its id and title only: a stand-in for each."""

    PK = 8172635409182736
    TITLE = "\ue000crm-row-title\ue000"

    pk = PK

    def __str__(self) -> str:
        return self.TITLE


class _Filled:
    """Markup drawn once with the stand-in id and title, filled in for each row."""

    def __init__(self, markup: str) -> None:
        keys = {str(_RowStandIn.PK): "pk", _RowStandIn.TITLE: "title"}
        pattern = re.compile("|".join(re.escape(stand_in) for stand_in in keys))
        self.pieces: list[tuple[str, str]] = []  # (literal text, then the key of the value after it)
        start = 0
        for match in pattern.finditer(markup):
            self.pieces.append((markup[start : match.start()], keys[match.group()]))
            start = match.end()
        self.tail = markup[start:]

    def __call__(self, pk: str, title: str) -> str:
        values = {"pk": pk, "title": title}
        return "".join(text + values[key] for text, key in self.pieces) + self.tail


class LeadTable(Table):
    """Wagtail's table with its body drawn in one pass (``crm/leads/listing_table.html``)."""

    template_name = "crm/leads/listing_table.html"

    @property
    def body(self) -> "LeadTableBody":
        return LeadTableBody(self)


class LeadTableBody:
    """The table's rows: each column draws its cells for the whole page (``render_cells``); a column
    without that method draws each cell as Wagtail's table template would."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def render_html(self, parent_context: Any) -> SafeString:
        table = self.table
        instances = list(table.data)
        columns = [self.cells(column, instances, parent_context) for column in table.columns.values()]
        out = []
        for index, instance in enumerate(instances):
            out.append(f"<tr{attributes(table.get_row_attrs(instance))}>")
            out.extend(cells[index] for cells in columns)
            out.append("</tr>")
        return mark_safe("".join(out))  # noqa: S308 - every cell is escaped markup

    def cells(self, column: Any, instances: list[Any], parent_context: Any) -> Sequence[str]:
        render_cells = getattr(column, "render_cells", None)
        if render_cells is not None:
            return render_cells(instances, parent_context)
        drawn = []
        for index, instance in enumerate(instances):
            with parent_context.push(row=Table.Row(self.table, instance, index)):
                drawn.append(conditional_escape(column.get_cell(instance).render_html(parent_context)))
        return drawn


class PageColumnMixin:
    """A column that draws its cells a page at a time; one cell is a page of one row."""

    def render_cells(self, instances: list[Any], parent_context: Any) -> list[str]:
        raise NotImplementedError

    def render_cell_html(self, instance: Any, parent_context: Any) -> SafeString:
        return mark_safe(self.render_cells([instance], parent_context)[0])  # noqa: S308 - escaped markup


class LeadTitleColumn(PageColumnMixin, TitleColumn):
    """Name (linked to the inspect page) and company on one line, the email (``mailto:``) and phone
    (``tel:``) links on the next, duplicate and tag badges, and the row's buttons.

    The listing view wraps it with Wagtail's ``ButtonsColumnMixin``, which supplies ``get_buttons``; with
    ``same_buttons_but_id_and_title`` (no hook adds or changes a row's buttons) the buttons are drawn once
    per page for a stand-in row and each row gets that markup with its id and title.
    """

    def __init__(self, *args: Any, same_buttons_but_id_and_title: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.same_buttons_but_id_and_title = same_buttons_but_id_and_title

    def render_cells(self, instances: list[Any], parent_context: Any) -> list[str]:
        opening = f'<td class="{_esc(self.classname)} title">' if self.classname else '<td class="title">'
        buttons = self._buttons_of_rows(parent_context)
        badges = _Badges()
        empty = None
        cells = []
        for lead in instances:
            title = str(lead)
            if not title:
                if empty is None:
                    empty = _esc(self.empty_value_display)
                title_html = empty
            else:
                title_html = _esc(title)
            company = ""
            if lead.company and lead.contact_name:
                company = _esc(lead.company)
                company = (
                    '<span class="w-text-14 w-text-text-meta crm-lead-title__company" '
                    f'title="{company}">{company}</span>'
                )
            cells.append(
                f'{opening}<div class="title-wrapper"><div class="crm-lead-title">'
                f'<a href="{_esc(self.get_link_url(lead, parent_context))}">'
                f'<span id="{_esc(self.get_title_id(lead, parent_context))}">{title_html}</span></a>{company}'
                f"</div>{contact_links(lead)}{badges(lead)}</div>{buttons(lead, title)}</td>"
            )
        return cells

    def _buttons_of_rows(self, parent_context: Any) -> Callable[[Any, str], str]:
        """A function of a row (and its title) giving the markup of its buttons."""
        if not self.same_buttons_but_id_and_title:
            return lambda lead, title: self._buttons_html(lead, parent_context)
        filled = _Filled(self._buttons_html(_RowStandIn(), parent_context))

        def buttons(lead: Any, title: str) -> str:
            if type(lead.pk) is not int:
                return self._buttons_html(lead, parent_context)
            return filled(str(lead.pk), html.escape(title))  # within the aria-label, escaped whole

        return buttons

    def _buttons_html(self, instance, parent_context):
        buttons = sorted(self.get_buttons(instance, parent_context))
        if not buttons:
            return ""
        items = [
            _dropdown(button)
            if isinstance(button, BaseDropdownMenuButton)
            else button.render_html(parent_context)
            for button in buttons
        ]
        return format_html(
            '<ul class="actions">{}</ul>', format_html_join("", "<li>{}</li>", ((i,) for i in items))
        )


class _Badges:
    """The title cell's badges: "Duplicate" for a lead linked to an earlier one (its tag not repeated),
    then its tags' labels; the labels looked up once per page."""

    def __init__(self) -> None:
        self.duplicate = f'<span class="w-status w-status--label">{_esc(gettext("Duplicate"))}</span>'
        self.labels: dict[str, str] = {}

    def __call__(self, lead: Any) -> str:
        tags = getattr(lead, LISTING_TAGS, None)
        if tags is None:
            tags = lead.tags.all()
        badges = self.duplicate if lead.duplicate_of_id else ""
        for tag in tags:
            name = tag.name
            if lead.duplicate_of_id and name == DUPLICATE_TAG:
                continue
            badge = self.labels.get(name)
            if badge is None:
                badge = self.labels[name] = f'<span class="w-status">{_esc(tag_label(name))}</span>'
            badges += badge
        return badges


class LeadCheckboxColumn(PageColumnMixin, BulkActionsCheckboxColumn):
    """The bulk-action checkbox of a row, as ``wagtailadmin/bulk_actions/listing_checkbox_cell.html``."""

    def render_cells(self, instances: list[Any], parent_context: Any) -> list[str]:
        label, obj_type = _esc(gettext("Select")), _esc(self.obj_type)
        cells = []
        for instance in instances:
            pk = instance.pk
            pk = str(pk) if type(pk) is int else _esc(quote(pk))
            cells.append(
                f'<td class="bulk-action-checkbox-cell"><input type="checkbox" data-object-id="{pk}" '
                f'data-bulk-action-checkbox class="bulk-action-checkbox" aria-label="{label}" '
                f'aria-describedby="{obj_type}_{pk}_title" /></td>'
            )
        return cells


class PlainColumn(PageColumnMixin, Column):
    """A text cell."""

    def opening(self) -> str:
        return f'<td class="{_esc(self.classname)}">' if self.classname else "<td>"

    def render_cells(self, instances: list[Any], parent_context: Any) -> list[str]:
        opening = self.opening()
        cells = []
        for instance in instances:
            value = self.get_value(instance)
            cells.append(f"{opening}{'' if value is None else _esc(value)}</td>")
        return cells


class StatusBadgeColumn(PlainColumn):
    """The status as a badge in its colour; a page draws each status's badge once."""

    def render_cells(self, instances: list[Any], parent_context: Any) -> list[str]:
        opening = self.opening()
        drawn: dict[Any, str] = {}
        cells = []
        for instance in instances:
            status = instance.status
            key = None if status is None else (status.key, status.colour, status.display_label)
            cell = drawn.get(key)
            if cell is None:
                cell = drawn[key] = f"{opening}{status_badge(status)}</td>"
            cells.append(cell)
        return cells


class AgeColumn(PlainColumn):
    """Time since, with the exact time on hover."""

    def render_cells(self, instances: list[Any], parent_context: Any) -> list[str]:
        opening = self.opening()
        cells = []
        for instance in instances:
            value = self.get_value(instance)
            if not value:
                cells.append(f"{opening}</td>")
                continue
            cells.append(
                f'{opening}<span title="{_esc(localize(template_localtime(value)))}">'
                f"{_esc(timesince(value))}</span></td>"
            )
        return cells


class NextActionColumn(PlainColumn):
    """The lead's next action in local time; a past one is marked overdue (in words too, not only colour)."""

    def render_cells(self, instances: list[Any], parent_context: Any) -> list[str]:
        opening = self.opening()
        now = timezone.now()
        overdue = None
        cells = []
        for instance in instances:
            value = self.get_value(instance)
            if not value:
                cells.append(f"{opening}</td>")
                continue
            text = _esc(date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT"))
            if value >= now:
                cells.append(f'{opening}<span class="crm-next-action">{text}</span></td>')
                continue
            if overdue is None:
                overdue = (
                    _icon("warning", "icon crm-next-action__icon"),
                    _esc(pgettext("follow-up", "overdue")),
                )
            icon, label = overdue
            cells.append(
                f'{opening}<span class="crm-next-action crm-next-action--overdue" data-overdue>{icon}{text}'
                f'<span class="w-sr-only"> ({label})</span></span></td>'
            )
        return cells


def phone_href(lead):
    """``tel:`` with the lead's E.164 number, else the digits given (with their leading + if any)."""
    if lead.phone_e164:
        return f"tel:{lead.phone_e164}"
    digits = re.sub(r"\D", "", lead.phone)
    if not digits:
        return ""
    return f"tel:+{digits}" if lead.phone.strip().startswith("+") else f"tel:{digits}"


def contact_links(lead):
    """The lead's email as a ``mailto:`` link and phone as a ``tel:`` link, on one line."""
    links = ""
    if lead.email:
        email = _esc(lead.email)
        links = f'<a class="crm-contact__email" href="mailto:{email}" title="{email}">{email}</a>'
    href = phone_href(lead)
    if href:
        links += (
            f'<a class="crm-contact__phone" href="{_esc(href)}">{_esc(lead.phone or lead.phone_e164)}</a>'
        )
    if not links:
        return ""
    return mark_safe(f'<div class="crm-contact">{links}</div>')  # noqa: S308 - escaped above
