"""Gravity Forms: pulled through its REST API v2, and its entries posted as webhooks."""

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from ..client import NotFoundError, SyncError, WordPressClient
from ..models import WordPressSource
from .base import (
    ACTIVE,
    META_KEYS,
    SPAM_STATUSES,
    Connector,
    Page,
    Record,
    is_field_id,
    numeric_id,
    parse_utc,
    record,
)

logger = logging.getLogger(__name__)

# Entry properties Gravity Forms adds besides the form's fields and META_KEYS.
ENTRY_PROPERTIES = {
    "id",
    "form_id",
    "date_created",
    "date_updated",
    "status",
    "is_starred",
    "is_read",
    "created_by",
    "currency",
    "payment_status",
    "post_id",
    "transaction_id",
}


class GravityConnector(Connector):
    """Gravity Forms REST API v2: entries keyed by field id, labels from the form, UTC dates, keyset by id.

    As a webhook, an entry (form-encoded or JSON) with a ``form_id`` and keys that are field ids.
    """

    SHAPE = "gravity"
    WEBHOOK_KIND = "gravity"

    def __init__(self, source: WordPressSource, client: WordPressClient | None = None) -> None:
        super().__init__(source, client)
        self._labels: dict[str, tuple[dict[str, str], dict[str, list[str]]]] = {}

    def base(self) -> str:
        return f"{self.source.url.rstrip('/')}/wp-json/gf/v2"

    def labels(self, form_id: str) -> tuple[dict[str, str], dict[str, list[str]]]:
        """``{field or input id: label}`` plus compound fields ``{field id: [input ids]}``."""
        if form_id not in self._labels:
            data, _headers = self.client.get(f"{self.base()}/forms/{form_id}")
            fields = data.get("fields") if isinstance(data, dict) else None
            if not isinstance(fields, list):
                raise SyncError(_("Unexpected answer: the form has no “fields” list."))
            labels, compounds = {}, {}
            for field in fields:
                field_id = str(field.get("id"))
                labels[field_id] = str(field.get("label") or field_id)
                inputs = field.get("inputs") or []
                if inputs:
                    compounds[field_id] = [str(item.get("id")) for item in inputs]
                    for item in inputs:
                        labels[str(item.get("id"))] = str(item.get("label") or item.get("id"))
            self._labels[form_id] = (labels, compounds)
        return self._labels[form_id]

    def _entries(
        self,
        form_id: str,
        search: dict[str, Any],
        sorting_key: str = "id",
        direction: str = "ASC",
        page: int = 1,
    ) -> list[Any]:
        params = {
            "paging[page_size]": self.page_size,
            "paging[current_page]": page,
            "sorting[key]": sorting_key,
            "sorting[direction]": direction,
            "search": json.dumps(search),
        }
        data, _headers = self.client.get(f"{self.base()}/forms/{form_id}/entries", params)
        return self._check_list(data, "entries")

    def fetch_new(self, form_id: str, after_id: int, status: str = "active") -> Iterator[Page]:
        def read(cursor: int) -> list[Any]:
            search = {
                "status": status,
                "field_filters": [{"key": "id", "value": str(cursor), "operator": ">"}],
            }
            return self._entries(form_id, search)

        return self._pages_after(form_id, after_id, read)

    def fetch_changed(
        self, form_id: str, since: datetime | None, flagged: Iterable[str] = ()
    ) -> Iterator[Page]:
        """Every spam and trash entry, then each of ``flagged`` no longer among them (restored or deleted).

        Gravity Forms keeps ``date_updated`` when an entry is marked spam or trashed from its entries list,
        so changes cannot be asked for by date: the spam and trash lists are read whole (``since`` unused).
        The ids of ``flagged`` the site no longer has at all (emptied trash, purged spam) end in ``deleted``.
        """
        self.deleted = []
        listed: set[str] = set()
        for status in SPAM_STATUSES:
            for page in self.fetch_new(form_id, 0, status=status):
                listed.update(item["external_id"] for item in page)
                yield page
        gone = sorted((key for key in flagged if key not in listed), key=lambda key: numeric_id(key) or 0)
        page = []
        for key in gone:
            entry = self.fetch_entry(key)
            if entry is None:
                self.deleted.append(key)
            else:
                page.append(self.to_record(form_id, entry))
            if len(page) >= self.page_size:
                yield page
                page = []
        if page:
            yield page

    def fetch_entry(self, entry_id: str) -> dict[str, Any] | None:
        """One entry by id, whatever its status; None when the site no longer has it."""
        if numeric_id(entry_id) is None:
            return None
        try:
            data, _headers = self.client.get(f"{self.base()}/entries/{numeric_id(entry_id)}")
        except NotFoundError:
            return None
        return data if isinstance(data, dict) else None

    def list_statuses(self, form_id: str) -> dict[str, str]:
        statuses: dict[str, str] = {}
        for status in (ACTIVE, *SPAM_STATUSES):
            for page in self.fetch_new(form_id, 0, status=status):
                statuses.update((item["external_id"], status) for item in page)
        return statuses

    def to_record(self, form_id: str, item: object) -> Record:
        if not isinstance(item, dict):
            return record(self.source, form_id, "", None, {}, item)
        labels, compounds = self.labels(form_id)
        inputs_of_compounds = {input_id for ids in compounds.values() for input_id in ids}
        fields, field_ids = {}, {}
        for field_id, label in labels.items():
            if field_id in inputs_of_compounds:
                continue
            if field_id in compounds:
                parts = [str(item.get(input_id) or "").strip() for input_id in compounds[field_id]]
                value = " ".join(part for part in parts if part)
            else:
                value = item.get(field_id, "")
            if value not in ("", None):
                fields[label] = value
            field_ids[field_id] = label
        known = set(labels) | set(META_KEYS) | ENTRY_PROPERTIES
        for key, value in item.items():
            if key not in known and value not in ("", None):
                fields[key] = value
        return record(
            self.source,
            item.get("form_id") or form_id,
            item.get("id"),
            parse_utc(item.get("date_created")),
            fields,
            item,
            updated_at=parse_utc(item.get("date_updated")),
            status=item.get("status"),
            meta={key: item.get(key, "") for key in META_KEYS},
            field_ids=field_ids,
        )

    @classmethod
    def reads_webhook(cls, payload: object, form_encoded: bool) -> bool:
        return isinstance(payload, dict) and "form_id" in payload and any(is_field_id(key) for key in payload)

    def webhook_record(
        self, item: dict[str, Any], raw: Record, fallback_id: str, received_at: datetime | None
    ) -> Record:
        """Labelled like a pulled entry when the source is pulled from Gravity Forms and its labels can be
        read; else keyed by field id."""
        if self.source.shape == self.SHAPE:
            try:
                return self.to_record(str(item.get("form_id")), item) | {"raw": raw}
            except SyncError:
                logger.warning("wordpress webhook: Gravity labels unavailable for %s", self.source.name)
        fields = {key: value for key, value in item.items() if is_field_id(key) and value not in ("", None)}
        meta = {key: item.get(key, "") for key in META_KEYS}
        return record(
            self.source,
            item.get("form_id"),
            item.get("id") or fallback_id,
            parse_utc(item.get("date_created")) or received_at,
            fields,
            raw,
            status=item.get("status"),
            meta=meta,
        )
