"""Template helpers of the lead admin."""

import re

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

register = template.Library()

HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
DEFAULT_COLOUR = "#6b7280"


def readable_text_colour(colour):
    """Black or white, whichever reads better on ``colour`` (a #rgb or #rrggbb hex)."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    red, green, blue = (int(digits[index : index + 2], 16) for index in (0, 2, 4))
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    return "#000000" if luminance > 150 else "#ffffff"


@register.filter
def short_age(value):
    """How long ago, in its largest unit only ("3 days"), for the board's cards."""
    return timesince(value, depth=1) if value else ""


@register.simple_tag
def status_badge(status):
    """A pipeline status as a badge in its configured colour (an invalid colour falls back to grey).
    Formatted here rather than by a template of its own: lists draw one per row."""
    colour = status.colour if status and HEX_COLOUR.match(status.colour or "") else DEFAULT_COLOUR
    return format_html(
        '<span class="w-status crm-status-badge" style="background-color: {colour}; color: {text};'
        ' border-color: {colour};" data-status="{key}">{label}</span>',
        colour=colour,
        text=readable_text_colour(colour),
        key=status.key if status else "",
        label=status.display_label if status else "",
    )


def _event_html(event, lead_pk, system):
    """One timeline entry (``crm.lead_page.label_event_values`` has set its labels)."""
    moment = localtime(event.created_at)
    merged = ""
    if event.lead_id != lead_pk:
        merged = " · " + _("from merged lead #%(id)s") % {"id": event.lead_id}
    if event.kind == "edited":
        change = format_html("<div>{} {}</div>", _("Changed:"), event.to_label)
    elif event.from_label:
        change = format_html("<div>{} → {}</div>", event.from_label, event.to_label or "—")
    elif event.to_label:
        change = format_html("<div>{}</div>", event.to_label)
    else:
        change = ""
    channel = ""
    if event.channel:
        outcome = f" · {event.get_outcome_display()}" if event.outcome else ""
        channel = format_html("<div>{}{}</div>", event.get_channel_display(), outcome)
    note = ""
    if event.note_label:
        note = format_html(
            '<div class="crm-event-note">{}</div>', linebreaksbr(event.note_label, autoescape=True)
        )
    return format_html(
        '<li class="crm-timeline__event crm-timeline__event--{group}" data-event-kind="{kind}" '
        'data-kind-group="{group}"><div class="crm-timeline__meta"><strong>{label}</strong> · '
        '<time datetime="{iso}">{when}</time> · {actor}{merged}</div>{change}{channel}{note}</li>',
        group=event.group,
        kind=event.kind,
        label=event.get_kind_display(),
        iso=moment.isoformat(),
        when=date_format(moment, "SHORT_DATETIME_FORMAT"),
        actor=event.actor_label or system,
        merged=merged,
        change=change,
        channel=channel,
        note=note,
    )


@register.simple_tag
def lead_timeline(events, lead):
    """The lead page's timeline entries, drawn in Python: a lead may show 200 of them, and a template
    loop costs several times more per entry."""
    system = _("System")
    return format_html_join("", "{}", ((_event_html(event, lead.pk, system),) for event in events))
