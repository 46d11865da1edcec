"""The visitor's visit: where they landed, their UTM parameters and failed attempts, in a signed cookie.

The cookie is set on the first page of the visit (or when a new campaign link is followed) and read
when a form is submitted, so campaign parameters survive navigation between the public pages.
No database row is written per visit.
"""

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "intralog_visit"
COOKIE_SALT = "forms_builder.visit"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
UTM_MAX_LENGTH = 200
URL_MAX_LENGTH = 500
MAX_TRACKED_FORMS = 10

_BOT = re.compile(r"bot|crawl|spider|slurp|curl|wget|python-requests|headless", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk|playbook|android(?!.*mobile)", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|android|blackberry|opera mini|iemobile|windows phone", re.I)


@dataclass
class Visit:
    """What the visit cookie carries."""

    utm: dict[str, str] = field(default_factory=dict)
    landing_page: str = ""
    referrer: str = ""
    attempts: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    changed: bool = False

    def failed_attempts(self, page_id: int) -> tuple[int, list[str]]:
        count, fields = self.attempts.get(str(page_id), (0, []))
        return count, list(fields)

    def add_failed_attempt(self, page_id: int, field_names: Iterable[str]) -> None:
        count, fields = self.failed_attempts(page_id)
        merged = sorted(set(fields) | set(field_names))[:30]
        self.attempts[str(page_id)] = (count + 1, merged)
        if len(self.attempts) > MAX_TRACKED_FORMS:
            self.attempts.pop(next(iter(self.attempts)))
        self.changed = True

    def clear_attempts(self, page_id: int) -> None:
        if self.attempts.pop(str(page_id), None) is not None:
            self.changed = True

    def as_cookie_value(self) -> dict[str, Any]:
        return {"u": self.utm, "l": self.landing_page, "r": self.referrer, "a": self.attempts}


def _utm_from(query: Mapping[str, str]) -> dict[str, str]:
    return {key: query.get(key, "")[:UTM_MAX_LENGTH] for key in UTM_KEYS if query.get(key, "").strip()}


def read_visit(request: HttpRequest) -> Visit:
    """The visit of this request, started now when there is none or a new campaign link was followed."""
    try:
        data = signing.loads(request.COOKIES.get(COOKIE_NAME, ""), salt=COOKIE_SALT)
    except signing.BadSignature:
        data = None
    visit = None
    if isinstance(data, dict):
        visit = Visit(
            utm={k: str(v)[:UTM_MAX_LENGTH] for k, v in dict(data.get("u") or {}).items() if k in UTM_KEYS},
            landing_page=str(data.get("l") or "")[:URL_MAX_LENGTH],
            referrer=str(data.get("r") or "")[:URL_MAX_LENGTH],
            attempts={str(k): (int(v[0]), list(v[1])) for k, v in dict(data.get("a") or {}).items()},
        )
    utm = _utm_from(request.GET) if request.method == "GET" else {}
    if visit is None or utm:
        visit = Visit(
            utm=utm,
            landing_page=request.build_absolute_uri()[:URL_MAX_LENGTH],
            referrer=request.headers.get("referer", "")[:URL_MAX_LENGTH],
            attempts=visit.attempts if visit else {},
            changed=True,
        )
    return visit


def save_visit(response: HttpResponse, visit: Visit) -> HttpResponse:
    if visit.changed:
        response.set_cookie(
            COOKIE_NAME,
            signing.dumps(visit.as_cookie_value(), salt=COOKIE_SALT, compress=True),
            httponly=True,
            samesite="Lax",
            secure=getattr(settings, "SESSION_COOKIE_SECURE", False),
        )
    return response


def track_visit(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Start or refresh the visit for a public page response."""
    if getattr(request, "is_preview", False):
        return response
    return save_visit(response, read_visit(request))


def device_class(user_agent: str) -> str:
    if not user_agent:
        return "unknown"
    if _BOT.search(user_agent):
        return "bot"
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"


def truncate_ip(address: str) -> str:
    """The /24 network of an IPv4 address or the /48 of an IPv6 one, so no single visitor is identified."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def browser_language(request: HttpRequest) -> str:
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].split(";")[0].strip()
    return first[:35] if re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", first or "-") else ""
