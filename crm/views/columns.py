"""Columns of the lead listing, rendered with ``format_html`` rather than one template per cell.

A listing page holds 50 rows × 9 cells, and Wagtail's cell templates (the title cell with its
"More" dropdown above all) cost most of a request's CPU at that size. These columns produce the
same markup as Wagtail's templates, so the admin's scripts and styles apply unchanged.
"""

import re

from django.contrib.admin.utils import quote
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.timezone import template_localtime
from django.utils.translation import gettext_lazy, pgettext_lazy
from wagtail.admin.ui.tables import BulkActionsCheckboxColumn, Column, TitleColumn
from wagtail.admin.widgets.button import BaseDropdownMenuButton

from crm.duplicates import DUPLICATE_TAG
from crm.tags import tag_label
from crm.templatetags.crm_leads import status_badge


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


class LeadTitleColumn(TitleColumn):
    """Name (linked to the inspect page) and company on one line, the email (``mailto:``) and phone
    (``tel:``) links on the next, duplicate and tag badges, and the row's buttons.

    The listing view wraps it with Wagtail's ``ButtonsColumnMixin``, which supplies ``get_buttons``.
    """

    def render_cell_html(self, lead, parent_context):
        company = ""
        if lead.company and lead.contact_name:
            company = format_html(
                '<span class="w-text-14 w-text-text-meta crm-lead-title__company" title="{company}">'
                "{company}</span>",
                company=lead.company,
            )
        badges = []
        if lead.duplicate_of_id:
            badges.append(
                format_html('<span class="w-status w-status--label">{}</span>', gettext_lazy("Duplicate"))
            )
        badges += [
            format_html('<span class="w-status">{}</span>', tag_label(tag.name))
            for tag in lead.tags.all()
            if not (lead.duplicate_of_id and tag.name == DUPLICATE_TAG)
        ]
        return format_html(
            '<td class="{classname}title"><div class="title-wrapper"><div class="crm-lead-title">'
            '<a href="{url}"><span id="{title_id}">{title}</span></a>{company}</div>{contact}{badges}</div>'
            "{buttons}</td>",
            classname=f"{self.classname} " if self.classname else "",
            url=self.get_link_url(lead, parent_context),
            title_id=self.get_title_id(lead, parent_context),
            title=str(lead) or self.empty_value_display,
            company=company,
            contact=contact_links(lead),
            badges=format_html_join("", "{}", ((badge,) for badge in badges)),
            buttons=self._buttons_html(lead, parent_context),
        )

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


class LeadCheckboxColumn(BulkActionsCheckboxColumn):
    """The bulk-action checkbox of a row, as ``wagtailadmin/bulk_actions/listing_checkbox_cell.html``."""

    def render_cell_html(self, instance, parent_context):
        return format_html(
            '<td class="bulk-action-checkbox-cell"><input type="checkbox" data-object-id="{pk}" '
            'data-bulk-action-checkbox class="bulk-action-checkbox" aria-label="{label}" '
            'aria-describedby="{obj_type}_{pk}_title" /></td>',
            pk=quote(instance.pk),
            label=gettext_lazy("Select"),
            obj_type=self.obj_type,
        )


class PlainColumn(Column):
    """A text cell rendered without a template."""

    def render_cell_html(self, instance, parent_context):
        value = self.get_value(instance)
        return self.cell_html("" if value is None else value)

    def cell_html(self, content):
        if self.classname:
            return format_html('<td class="{}">{}</td>', self.classname, content)
        return format_html("<td>{}</td>", content)


class StatusBadgeColumn(PlainColumn):
    def render_cell_html(self, instance, parent_context):
        badge = status_badge(instance.status)
        return self.cell_html(
            format_html(
                '<span class="w-status crm-status-badge" style="background-color: {colour}; color: {text};'
                ' border-color: {colour};" data-status="{key}">{label}</span>',
                colour=badge["colour"],
                text=badge["text_colour"],
                key=instance.status.key if instance.status else "",
                label=instance.status.display_label if instance.status else "",
            )
        )


class AgeColumn(PlainColumn):
    def render_cell_html(self, instance, parent_context):
        value = self.get_value(instance)
        if not value:
            return self.cell_html("")
        return self.cell_html(
            format_html('<span title="{}">{}</span>', localize(template_localtime(value)), timesince(value))
        )


class NextActionColumn(PlainColumn):
    """The lead's next action in local time; a past one is marked overdue (in words too, not only colour)."""

    def render_cell_html(self, instance, parent_context):
        value = self.get_value(instance)
        if not value:
            return self.cell_html("")
        text = date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
        if value >= timezone.now():
            return self.cell_html(format_html('<span class="crm-next-action">{}</span>', text))
        return self.cell_html(
            format_html(
                '<span class="crm-next-action crm-next-action--overdue" data-overdue>{icon}{text}'
                '<span class="w-sr-only"> ({label})</span></span>',
                icon=_icon("warning", "icon crm-next-action__icon"),
                text=text,
                label=pgettext_lazy("follow-up", "overdue"),
            )
        )


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
    links = []
    if lead.email:
        links.append(
            format_html(
                '<a class="crm-contact__email" href="mailto:{email}" title="{email}">{email}</a>',
                email=lead.email,
            )
        )
    href = phone_href(lead)
    if href:
        links.append(
            format_html('<a class="crm-contact__phone" href="{}">{}</a>', href, lead.phone or lead.phone_e164)
        )
    if not links:
        return ""
    return format_html('<div class="crm-contact">{}</div>', format_html_join("", "{}", ((a,) for a in links)))
