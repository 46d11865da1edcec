"""The WordPress shapes the CRM reads, one connector each, and the one place they are registered.

A connector pulls a source's submissions page by page (``SHAPE``), reads the webhook bodies of its
format (``WEBHOOK_KIND``), or both; every one yields the common record (``base``). Adding a shape is one
connector class, added to ``REGISTERED`` (a pulled shape is also a ``WordPressSource.Shape`` choice).
"""

from datetime import datetime

from ..client import WordPressClient
from ..models import WordPressSource
from .base import (
    ACTIVE,
    FLAGGED_STATUSES,
    META_KEYS,
    REMOVED,
    SPAM_STATUSES,
    Connector,
    Page,
    Record,
    flag_of,
    numeric_id,
    parse_local,
    parse_utc,
    record,
)
from .collection import CollectionConnector
from .elementor import ElementorAdvancedConnector, ElementorConnector
from .generic import GenericConnector
from .gravity import GravityConnector
from .legacy import LegacyConnector

# Webhook bodies go to the first connector here that reads them: specific formats before the catch-alls.
REGISTERED: tuple[type[Connector], ...] = (
    ElementorAdvancedConnector,
    GravityConnector,
    LegacyConnector,
    CollectionConnector,
    ElementorConnector,
    GenericConnector,
)

__all__ = [
    "ACTIVE",
    "FLAGGED_STATUSES",
    "META_KEYS",
    "REGISTERED",
    "REMOVED",
    "SPAM_STATUSES",
    "Connector",
    "Page",
    "Record",
    "connector_for",
    "flag_of",
    "numeric_id",
    "parse_local",
    "pulled_shapes",
    "parse_utc",
    "record",
    "webhook_kind",
    "webhook_record",
]


def pulled_shapes() -> dict[str, type[Connector]]:
    """``{shape: connector}`` of the registered connectors that pull."""
    return {connector.SHAPE: connector for connector in REGISTERED if connector.SHAPE}


def connector_for(source: WordPressSource, client: WordPressClient | None = None) -> Connector:
    """The connector pulling ``source``."""
    return pulled_shapes()[source.shape](source, client)


def webhook_kind(payload: object, form_encoded: bool) -> str:
    """The format of a webhook body (a decoded form, or parsed JSON): the first registered reader's kind."""
    return next(
        connector.WEBHOOK_KIND
        for connector in REGISTERED
        if connector.WEBHOOK_KIND and connector.reads_webhook(payload, form_encoded)
    )


def webhook_record(
    source: WordPressSource, kind: str, item: object, fallback_id: str, received_at: datetime | None
) -> Record:
    """The common record of one item of a webhook body of format ``kind``.

    The item is kept as the record's raw payload under ``_webhook: kind`` (a retry reads it again the
    same way); an item that is not an object becomes a record without form or id. A kind no connector
    reads any longer is read as generic JSON.
    """
    raw = {"_webhook": kind, **item} if isinstance(item, dict) else {"_webhook": kind, "value": item}
    if not isinstance(item, dict):
        return record(source, "", "", None, None, raw)
    readers = {connector.WEBHOOK_KIND: connector for connector in REGISTERED if connector.WEBHOOK_KIND}
    return readers.get(kind, GenericConnector)(source).webhook_record(item, raw, fallback_id, received_at)
