"""How a delivery is signed, as the inbound WordPress webhooks are: the same headers and message.

``X-Intralog-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<delivery id>." + raw body)>``, with
``X-Intralog-Timestamp`` (Unix seconds) and ``X-Intralog-Delivery`` (stable across retries).
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Intralog-Signature"
TIMESTAMP_HEADER = "X-Intralog-Timestamp"
DELIVERY_HEADER = "X-Intralog-Delivery"
EVENT_HEADER = "X-Intralog-Event"


def sign(secret: str, timestamp: str, delivery_id: str, body: bytes) -> str:
    message = f"{timestamp}.{delivery_id}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def headers(secret: str, timestamp: str, delivery_id: str, event_type: str, body: bytes) -> dict[str, str]:
    """The headers of one POST."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "INTRALOG-Leads-Webhooks/1",
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event_type,
        SIGNATURE_HEADER: sign(secret, timestamp, delivery_id, body),
    }
