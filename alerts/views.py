"""The WhatsApp Cloud API webhook: the subscription handshake and signed status/message notifications."""

import hashlib
import hmac
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .channels import whatsapp


def valid_signature(raw_body: bytes, header: str) -> bool:
    """``X-Hub-Signature-256`` is ``sha256=`` + HMAC-SHA256 of the raw body with the app secret."""
    secret = settings.WHATSAPP_APP_SECRET
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        token = settings.WHATSAPP_VERIFY_TOKEN
        if (
            request.GET.get("hub.mode") == "subscribe"
            and token
            and hmac.compare_digest(request.GET.get("hub.verify_token", ""), token)
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponseForbidden("Verification failed.")
    raw = request.body
    if not valid_signature(raw, request.headers.get("X-Hub-Signature-256", "")):
        return HttpResponseForbidden("Invalid signature.")
    try:
        payload = json.loads(raw)
    except ValueError:
        return HttpResponseBadRequest("Invalid JSON.")
    if not isinstance(payload, dict):
        return HttpResponseBadRequest("Invalid payload.")
    statuses, inbound = whatsapp.record_webhook(payload)
    return JsonResponse({"statuses": statuses, "messages": inbound})
