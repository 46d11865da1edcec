"""Any JSON webhook body: one submission, or a list of them, with its fields at the top or under ``fields``."""

from datetime import datetime
from typing import Any

from .base import Connector, Record, parse_local, parse_utc, record

RESERVED = {
    "form_id",
    "id",
    "entry_id",
    "submission_id",
    "date",
    "date_gmt",
    "submitted_at",
    "meta",
    "fields",
}


class GenericConnector(Connector):
    """JSON a site's own hook sends: ``id``/``entry_id``/``submission_id``, ``date_gmt``/``submitted_at``
    (UTC) or ``date`` (site-local), ``fields`` and ``meta`` objects (else every other key is a field).
    Any JSON body no other connector reads is read this way."""

    WEBHOOK_KIND = "generic"

    @classmethod
    def reads_webhook(cls, payload: object, form_encoded: bool) -> bool:
        return not form_encoded

    def webhook_record(
        self, item: dict[str, Any], raw: Record, fallback_id: str, received_at: datetime | None
    ) -> Record:
        fields = item.get("fields") if isinstance(item.get("fields"), dict) else None
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        if fields is None:
            fields = {key: value for key, value in item.items() if key not in RESERVED}
        external = item.get("id") or item.get("entry_id") or item.get("submission_id") or fallback_id
        submitted = (
            parse_utc(item.get("date_gmt") or item.get("submitted_at"))
            or parse_local(item.get("date"), self.tz)
            or received_at
        )
        return record(self.source, item.get("form_id", ""), external, submitted, fields, raw, meta=meta)
