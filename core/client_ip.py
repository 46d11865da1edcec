"""The client's IP address, read in one place: the sign-in lockout (django-axes) and the lead-form rate limit.

``PROXY_COUNT`` (environment, default 0) is how many reverse proxies stand in front of the app, each
appending the address it received the request from to ``X-Forwarded-For``:

- 0: no proxy; the client is ``REMOTE_ADDR`` and ``X-Forwarded-For`` is ignored (anyone can send it).
- N: the client is the N-th address from the right of ``X-Forwarded-For``, the one the outermost of
  our proxies appended; anything further left was sent by the client and is not trusted. A request
  whose header has fewer addresses did not come through the proxies: ``REMOTE_ADDR``.
"""

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip


def proxy_count() -> int:
    return max(int(getattr(settings, "PROXY_COUNT", 0) or 0), 0)


def client_ip(request: HttpRequest) -> str:
    """The address the lockout and rate limits key on (a string, empty when unknown)."""
    proxies = proxy_count()
    if proxies:
        # django-ipware counts the proxies whose addresses are in the header, that is all but the
        # last one (whose address is REMOTE_ADDR): its chain[-(count + 1)] is our N-th from the right.
        address, _routable = get_client_ip(
            request,
            proxy_count=proxies - 1,
            request_header_order=["HTTP_X_FORWARDED_FOR"],
            strict=False,
        )
        if address:
            return str(address)
    return request.META.get("REMOTE_ADDR", "") or ""
