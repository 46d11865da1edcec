"""The WhatsApp Business Cloud API, knowing no lead: messages, media, webhook signatures and the webhook.

``post_message`` sends one message from a business number (``Account``) and returns the provider's message
id or raises a classified ``ApiError``; ``fetch_media`` downloads what a person sent, within a size limit.
The webhook view (``webhook``) checks the ``X-Hub-Signature-256`` header, then hands the raw body and its
parsed form to whoever listens to ``webhook_received`` (staff alerts, lead conversations); the apps that
listen store and read what concerns them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

OUTSIDE_WINDOW = "131047"
TRANSIENT_CODES = {"1", "2", "4", "80007", "130429", "131000", "131016", "131056", "133004"}
ADMIN_CODES = {"10", "190", "200"}
CHUNK = 64 * 1024

webhook_received = Signal()
"""Sent for every signed webhook POST with ``raw`` (the body's bytes) and ``payload`` (the parsed JSON
object, or None when the body is none). Receivers return a dict of counts for the response."""

_local = threading.local()


class ApiError(Exception):
    """A Cloud API call failed: ``code`` (the provider's error code, or a word of ours), whether trying
    again later may work (``transient``) and whether only configuration can fix it (``needs_admin``)."""

    def __init__(self, code: str, message: str, *, transient: bool = False, needs_admin: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient
        self.needs_admin = needs_admin


@dataclass(frozen=True)
class Account:
    """A business number to send from: its phone number id and the access token (from the environment)."""

    phone_number_id: str
    token: str


@dataclass(frozen=True)
class Media:
    content: bytes
    mime_type: str
    sha256: str


def default_account() -> Account:
    """The staff alerts' number (``WHATSAPP_PHONE_NUMBER_ID``, ``WHATSAPP_TOKEN``)."""
    return Account(settings.WHATSAPP_PHONE_NUMBER_ID, settings.WHATSAPP_TOKEN)


def token_for(code: str) -> str:
    """The access token of a brand's number: ``WHATSAPP_TOKEN_<CODE>`` when set, else ``WHATSAPP_TOKEN``."""
    tokens: dict[str, str] = getattr(settings, "WHATSAPP_BRAND_TOKENS", {})
    return tokens.get(code.lower()) or settings.WHATSAPP_TOKEN


def _session(url: str) -> requests.Session:
    """This thread's session (kept-alive connections). Proxies from the environment are read once:
    left to ``requests``, every call would stat ``~/.netrc`` and scan the environment again."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False
        session.proxies = requests.utils.get_environ_proxies(url)
    return session


def _base() -> str:
    return str(settings.WHATSAPP_API_BASE_URL).rstrip("/")


def template_payload(to: str, name: str, language: str, parameters: Iterable[str]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": value} for value in parameters]}
            ],
        },
    }


def text_payload(to: str, body: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }


def post_message(account: Account, payload: dict[str, Any]) -> str:
    """Send one message; returns the provider's message id or raises a classified ``ApiError``."""
    if not account.token or not account.phone_number_id:
        raise ApiError("not_configured", "WhatsApp is not configured.", needs_admin=True)
    url = f"{_base()}/{account.phone_number_id}/messages"
    try:
        response = _session(url).post(
            url,
            json=payload,
            headers={"Authorization": f"Bearer {account.token}"},
            timeout=settings.WHATSAPP_TIMEOUT,
        )
    except requests.RequestException as error:
        raise ApiError("network", str(error), transient=True) from error
    body = _json(response)
    if response.ok:
        messages = body.get("messages") or [{}]
        return str(messages[0].get("id", ""))
    raise classify(response.status_code, body.get("error") or {})


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def classify(status: int, error: dict[str, Any]) -> ApiError:
    code = str(error.get("code", status))
    message = str(error.get("message", ""))[:500] or f"HTTP {status}"
    details = (
        (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else ""
    )
    if details:
        message = f"{message}: {str(details)[:500]}"
    if code in ADMIN_CODES:
        return ApiError(code, message, needs_admin=True)
    transient = code in TRANSIENT_CODES or status == 429 or status >= 500
    return ApiError(code, message, transient=transient)


def fetch_media(account: Account, media_id: str, max_bytes: int, allowed_types: Iterable[str]) -> Media:
    """Download a received image or document: its address from ``GET /{media-id}``, then the bytes.

    Raises ``ApiError("too_large")`` or ``ApiError("type_not_allowed")`` before downloading when the
    provider's description says so, and stops reading past ``max_bytes`` whatever it said.
    """
    url = f"{_base()}/{media_id}"
    headers = {"Authorization": f"Bearer {account.token}"}
    try:
        response = _session(url).get(url, headers=headers, timeout=settings.WHATSAPP_TIMEOUT)
    except requests.RequestException as error:
        raise ApiError("network", str(error), transient=True) from error
    meta = _json(response)
    if not response.ok:
        raise classify(response.status_code, meta.get("error") or {})
    mime_type = str(meta.get("mime_type") or "").split(";")[0].strip().lower()
    if mime_type not in set(allowed_types):
        raise ApiError("type_not_allowed", f"Files of type {mime_type or '?'} are not kept.")
    size = meta.get("file_size")
    if isinstance(size, int) and size > max_bytes:
        raise ApiError("too_large", f"The file has {size} bytes; at most {max_bytes} are kept.")
    content = _download(str(meta.get("url") or ""), headers, max_bytes)
    return Media(content, mime_type, hashlib.sha256(content).hexdigest())


def _download(url: str, headers: dict[str, str], max_bytes: int) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise ApiError("no_media_url", "The provider gave no address for the file.")
    try:
        with _session(url).get(
            url, headers=headers, timeout=settings.WHATSAPP_TIMEOUT, stream=True
        ) as response:
            if not response.ok:
                raise classify(response.status_code, {})
            parts, total = [], 0
            for chunk in response.iter_content(CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise ApiError("too_large", f"The file has more than {max_bytes} bytes.")
                parts.append(chunk)
    except requests.RequestException as error:
        raise ApiError("network", str(error), transient=True) from error
    return b"".join(parts)


# The webhook ------------------------------------------------------------------------------------------


def app_secrets() -> list[str]:
    """The app secrets a webhook may be signed with: ``WHATSAPP_APP_SECRET`` and, when the brands' numbers
    belong to other apps, ``WHATSAPP_EXTRA_APP_SECRETS``."""
    extra: list[str] = list(getattr(settings, "WHATSAPP_EXTRA_APP_SECRETS", []))
    return [secret for secret in [settings.WHATSAPP_APP_SECRET, *extra] if secret]


def valid_signature(raw_body: bytes, header: str, secrets: Iterable[str] | None = None) -> bool:
    """``X-Hub-Signature-256`` is ``sha256=`` + HMAC-SHA256 of the raw body with an app secret."""
    if not header or not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=")
    return any(
        hmac.compare_digest(hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest(), given)
        for secret in (app_secrets() if secrets is None else secrets)
    )


def sign(secret: str, raw_body: bytes) -> str:
    """The header value the provider sends for ``raw_body`` (for fakes and tests)."""
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def _parsed(raw: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    """The subscription handshake (GET) and signed notifications (POST), answered once every listener
    has kept what concerns it; an unsigned or wrongly signed body is refused before anything is kept."""
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
    payload = _parsed(raw)
    counts: dict[str, Any] = {}
    for _receiver, answer in webhook_received.send(sender=webhook, raw=raw, payload=payload):
        if isinstance(answer, dict):
            counts.update(answer)
    if payload is None:
        return HttpResponseBadRequest("Invalid JSON.")
    return JsonResponse(counts)
