"""The legacy plugin endpoint: active submissions of one form after an id, in site-local time."""

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from .base import ACTIVE, META_KEYS, Connector, Page, Record, parse_local, record


class LegacyConnector(Connector):
    """``GET <base>/<form_id>?since_id=&limit=&order=asc`` → ``{"form_submissions": [...]}`` (site-local times).

    The endpoint lists active submissions only: one the site marks spam or trashes just stops appearing.
    """

    SHAPE = "legacy"
    LISTED_STATUSES = (ACTIVE,)
    HIDES_FLAGGED = True

    def url(self, form_id: str) -> str:
        return f"{self.source.url.rstrip('/')}/{form_id}"

    def fetch_new(self, form_id: str, after_id: int, created_after: datetime | None = None) -> Iterator[Page]:
        def read(cursor: int) -> list[Any]:
            params: dict[str, Any] = {"since_id": cursor, "limit": self.page_size, "order": "asc"}
            if created_after is not None:
                params["after"] = created_after.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
            data, _headers = self.client.get(self.url(form_id), params)
            return self._check_list(data, "form_submissions")

        return self._pages_after(form_id, after_id, read)

    def fetch_changed(
        self, form_id: str, since: datetime | None, flagged: Iterable[str] = ()
    ) -> Iterator[Page]:
        """Every listed record created since ``since`` (all of them when None): the sync takes a held
        submission of that period missing from these pages as flagged on the site."""
        return self.fetch_new(form_id, 0, created_after=since)

    def list_statuses(self, form_id: str) -> dict[str, str]:
        data, _headers = self.client.get(self.url(form_id))
        return {
            str(item.get("id")): ACTIVE
            for item in self._check_list(data, "form_submissions")
            if isinstance(item, dict)
        }

    def to_record(self, form_id: str, item: object) -> Record:
        if not isinstance(item, dict):
            return record(self.source, form_id, "", None, {}, item)
        fields = {key: value for key, value in item.items() if key not in ("id", "created_at", "form_id")}
        meta = {key: fields.pop(key) for key in META_KEYS if key in fields}
        return record(
            self.source,
            form_id,
            item.get("id"),
            parse_local(item.get("created_at"), self.tz),
            fields,
            item,
            meta=meta,
        )
