"""WhatsApp alerts through the WhatsApp Business Cloud API (``POST {base}/{phone-number-id}/messages``)."""

import threading
from functools import lru_cache

import phonenumbers
import requests
from django.conf import settings

from . import DeliveryError

OUTSIDE_WINDOW = "131047"
TRANSIENT_CODES = {"1", "2", "4", "80007", "130429", "131000", "131016", "131056", "133004"}
ADMIN_CODES = {"10", "190", "200"}

_local = threading.local()


def _session(url):
    """This thread's session (kept-alive connections). Proxies from the environment are read once:
    left to ``requests``, every call would stat ``~/.netrc`` and scan the environment again."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False
        session.proxies = requests.utils.get_environ_proxies(url)
    return session


def valid_number(number):
    """The number as WhatsApp wants it (digits, no plus), or raise a permanent ``DeliveryError``."""
    return _valid_number(str(number or "").strip())


@lru_cache(maxsize=4096)
def _valid_number(text):
    if not text:
        raise DeliveryError("missing_phone", "The recipient has no WhatsApp number.")
    try:
        parsed = phonenumbers.parse(text, "AR")
    except phonenumbers.NumberParseException as error:
        raise DeliveryError("invalid_phone", f"Invalid WhatsApp number: {text}") from error
    if not phonenumbers.is_valid_number(parsed):
        raise DeliveryError("invalid_phone", f"Invalid WhatsApp number: {text}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def template_payload(to, name, language, parameters):
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


def text_payload(to, body):
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }


def post(payload):
    """Send one message; returns the provider's message id or raises a classified ``DeliveryError``."""
    if not settings.WHATSAPP_TOKEN or not settings.WHATSAPP_PHONE_NUMBER_ID:
        raise DeliveryError("not_configured", "WhatsApp is not configured.", needs_admin=True)
    url = f"{settings.WHATSAPP_API_BASE_URL.rstrip('/')}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
    try:
        response = _session(url).post(
            url,
            json=payload,
            headers={"Authorization": f"Bearer {settings.WHATSAPP_TOKEN}"},
            timeout=settings.WHATSAPP_TIMEOUT,
        )
    except requests.RequestException as error:
        raise DeliveryError("network", str(error), transient=True) from error
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.ok:
        messages = body.get("messages") or [{}]
        return messages[0].get("id", "")
    raise classify(response.status_code, body.get("error") or {})


def classify(status, error):
    code = str(error.get("code", status))
    message = str(error.get("message", ""))[:500] or f"HTTP {status}"
    if code in ADMIN_CODES:
        return DeliveryError(code, message, needs_admin=True)
    transient = code in TRANSIENT_CODES or status == 429 or status >= 500
    return DeliveryError(code, message, transient=transient)


def send(to, *, text=None, template=None, language="en", parameters=()):
    """Free text when the 24-hour window is open, else (or on 131047) the approved template."""
    if text is not None:
        try:
            return post(text_payload(to, text))
        except DeliveryError as error:
            if error.code != OUTSIDE_WINDOW:
                raise
    return post(template_payload(to, template, language, list(parameters)))
