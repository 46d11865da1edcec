"""A WordPress-core-style REST collection of submissions (the shape the fake site and the demo serve)."""

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from ..client import SyncError
from .base import Connector, Page, Record, parse_local, parse_utc, record


class CollectionConnector(Connector):
    """A WordPress-core-style collection walked by keyset (``after_id``, ``orderby=id``, ``order=asc``)."""

    SHAPE = "collection"

    def _get(self, form_id: str, **params: Any) -> list[Any]:
        params = {"form_id": form_id, "per_page": self.page_size, "orderby": "id", "order": "asc", **params}
        data, _headers = self.client.get(self.source.url, params)
        if not isinstance(data, list):
            raise SyncError(_("Unexpected answer: the collection is not a list."))
        return data

    def _walk(self, form_id: str, after_id: int, **params: Any) -> Iterator[Page]:
        return self._pages_after(
            form_id, after_id, lambda cursor: self._get(form_id, after_id=cursor, **params)
        )

    def fetch_new(self, form_id: str, after_id: int) -> Iterator[Page]:
        return self._walk(form_id, after_id, status="any")

    def fetch_changed(
        self, form_id: str, since: datetime | None, flagged: Iterable[str] = ()
    ) -> Iterator[Page]:
        if since is None:
            return self._walk(form_id, 0, status="any")
        return self._walk(form_id, 0, status="any", modified_after=since.astimezone(UTC).isoformat())

    def to_record(self, form_id: str, item: object) -> Record:
        if not isinstance(item, dict):
            return record(self.source, form_id, "", None, {}, item)
        submitted = parse_utc(item.get("date_gmt")) or parse_local(item.get("date"), self.tz)
        fields = item.get("fields") if isinstance(item.get("fields"), dict) else {}
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        return record(
            self.source,
            item.get("form_id") or form_id,
            item.get("id"),
            submitted,
            fields,
            item,
            updated_at=parse_utc(item.get("modified_gmt")),
            status=item.get("status"),
            meta=meta,
        )
