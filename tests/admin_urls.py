"""Every admin URL that takes no arguments, read from the URL resolver, for sweeps over the whole admin."""

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern


def _walk(patterns, prefix=""):
    for entry in patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            if pattern.converters:
                continue
            route = str(pattern)
        else:
            route = str(pattern).lstrip("^").rstrip("$")
            if "(" in route or "[" in route or "\\" in route or "?" in route or "*" in route or "+" in route:
                continue
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            yield prefix + route, entry.name


def argless_admin_urls():
    """``(path, url name)`` for every admin view reachable without URL arguments, sorted by path."""
    found = {}
    for route, name in _walk(get_resolver().url_patterns):
        if route.startswith("admin/"):
            found.setdefault("/" + route, name)
    return sorted(found.items())
