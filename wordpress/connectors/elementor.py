"""Elementor Pro forms, which only send webhooks (form-encoded): the simple and the advanced format."""

from datetime import datetime
from typing import Any

from .base import Connector, Record, parse_local, record


class ElementorAdvancedConnector(Connector):
    """The advanced format: ``form[id]``, ``fields[<key>][value|title]`` and ``meta[<name>][value]``."""

    WEBHOOK_KIND = "elementor_advanced"
    META = (("page_url", "source_url"), ("user_agent", "user_agent"), ("remote_ip", "ip"))

    @classmethod
    def reads_webhook(cls, payload: object, form_encoded: bool) -> bool:
        return form_encoded and isinstance(payload, dict) and "form[id]" in payload

    def webhook_record(
        self, item: dict[str, Any], raw: Record, fallback_id: str, received_at: datetime | None
    ) -> Record:
        fields = {}
        for key, value in item.items():
            if key.startswith("fields[") and key.endswith("][value]"):
                field_key = key[len("fields[") : -len("][value]")]
                label = item.get(f"fields[{field_key}][title]") or field_key
                fields[label] = value
        meta = {target: item.get(f"meta[{name}][value]", "") for name, target in self.META}
        date = item.get("meta[date][value]", "")
        clock = item.get("meta[time][value]", "")
        submitted = parse_local(f"{date} {clock}".strip(), self.tz) if date and clock else None
        return record(
            self.source,
            item.get("form[id]", ""),
            fallback_id,
            submitted or received_at,
            fields,
            raw,
            meta=meta,
        )


class ElementorConnector(Connector):
    """The simple format: each field by its label, plus ``form_id`` and ``form_name``; any other
    form-encoded body is read this way."""

    WEBHOOK_KIND = "elementor_simple"

    @classmethod
    def reads_webhook(cls, payload: object, form_encoded: bool) -> bool:
        return form_encoded

    def webhook_record(
        self, item: dict[str, Any], raw: Record, fallback_id: str, received_at: datetime | None
    ) -> Record:
        fields = {key: value for key, value in item.items() if key not in ("form_id", "form_name")}
        return record(self.source, item.get("form_id", ""), fallback_id, received_at, fields, raw)
