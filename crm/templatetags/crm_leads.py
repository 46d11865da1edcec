"""Template helpers of the lead admin."""

import re

from django import template
from django.utils.timesince import timesince

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


@register.inclusion_tag("crm/leads/status_badge.html")
def status_badge(status):
    """A pipeline status as a badge in its configured colour (an invalid colour falls back to grey)."""
    colour = status.colour if status and HEX_COLOUR.match(status.colour or "") else DEFAULT_COLOUR
    return {"status": status, "colour": colour, "text_colour": readable_text_colour(colour)}
