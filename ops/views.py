"""``/healthz`` and ``/readyz``: JSON, no sign-in, no personal data."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers; touches neither the database nor Redis."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every check that counts passes, 503 otherwise; the body lists each check."""
    ready, checks = health.readiness()
    body = {
        "status": "ok" if ready else "fail",
        "checks": {name: check.as_dict() for name, check in checks.items()},
    }
    return JsonResponse(body, status=200 if ready else 503)
