"""Email HTML as it may be shown on the lead page, cleaned by nh3 (the Rust ``ammonia`` sanitiser).

Only formatting survives: no scripts, styles, forms, frames or event handlers, and no images at all, so
nothing the sender placed is fetched from the network (a remote image tells the sender the mail was read).
Links keep only http, https and mailto and open with ``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import nh3

TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "small", "span",
        "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
CLEAN_CONTENT = frozenset({"script", "style", "title", "head", "noscript", "template", "svg", "math"})
LIMIT = 500_000


def clean_html(html: str) -> str:
    """``html`` reduced to safe formatting (at most ``LIMIT`` characters of it are read)."""
    return nh3.clean(
        html[:LIMIT],
        tags=set(TAGS),
        clean_content_tags=set(CLEAN_CONTENT),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
