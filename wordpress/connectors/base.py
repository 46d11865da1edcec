"""The common record every connector produces, and the interface a connector implements.

A record is ``{source, form_id, external_id, submitted_at (UTC), updated_at, status, fields: {label: value},
field_ids: {field id: label}, meta: {ip, source_url, user_agent}, raw}``.
"""

import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.utils.translation import gettext as _

from ..client import SyncError, WordPressClient
from ..models import WordPressSource

Record = dict[str, Any]
Page = list[Record]

META_KEYS = ("ip", "source_url", "user_agent")
SPAM_STATUSES = ("spam", "trash")
ACTIVE = "active"
# Not a WordPress status: a submission the legacy endpoint stopped listing (marked spam, trashed or deleted).
REMOVED = "removed"
FLAGGED_STATUSES = (*SPAM_STATUSES, REMOVED)


def flag_of(status: str | None) -> str:
    """The upstream status as the CRM tells them apart: ``spam``, ``trash``, ``removed`` or ``active``."""
    return status if status is not None and status in FLAGGED_STATUSES else ACTIVE


def parse_local(value: object, tz: zoneinfo.ZoneInfo) -> datetime | None:
    """A site-local ``Y-m-d H:i:s`` (or ISO 8601 without zone) as an aware UTC datetime, or None."""
    moment = _parse(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def parse_utc(value: object) -> datetime | None:
    moment = _parse(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse(value: object) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return None


def record(  # noqa: PLR0913 - known debt (ARCHITECTURE.md, Habits)
    source: WordPressSource,
    form_id: object,
    external_id: object,
    submitted_at: datetime | None,
    fields: dict[str, Any] | None,
    raw: object,
    *,
    updated_at: datetime | None = None,
    status: str | None = "active",
    meta: dict[str, Any] | None = None,
    field_ids: dict[str, str] | None = None,
) -> Record:
    return {
        "source": source.pk,
        "form_id": str(form_id),
        "external_id": "" if external_id is None else str(external_id),
        "submitted_at": submitted_at,
        "updated_at": updated_at,
        "status": status or "active",
        "fields": fields,
        "field_ids": field_ids or {},
        "meta": {key: (meta or {}).get(key, "") for key in META_KEYS},
        "raw": raw,
    }


def numeric_id(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def is_field_id(key: str) -> bool:
    """Whether a payload key is a form field's id (``"3"``, ``"4.1"``) rather than a named key."""
    return key.replace(".", "", 1).isdigit()


class Connector:
    """One WordPress shape: pulls a source's submissions, reads the webhook bodies it sends, or both.

    ``SHAPE``: the ``WordPressSource.shape`` it pulls ("" when it only sends webhooks).
    ``WEBHOOK_KIND``: the name of the webhook payload format it reads, stored with each such payload
    ("" when it sends none); ``reads_webhook`` tells a body of that format.
    ``LISTED_STATUSES``: the statuses the shape can list (reconciliation compares those, like with like).
    ``HIDES_FLAGGED``: the site leaves out what it flagged, so a submission that stops being listed was
    flagged (or deleted) there. ``deleted``: after ``fetch_changed``, the ids of ``flagged`` it found gone.
    """

    SHAPE: ClassVar[str] = ""
    WEBHOOK_KIND: ClassVar[str] = ""
    LISTED_STATUSES: ClassVar[tuple[str, ...]] = (ACTIVE, *SPAM_STATUSES)
    HIDES_FLAGGED: ClassVar[bool] = False

    def __init__(self, source: WordPressSource, client: WordPressClient | None = None) -> None:
        self.source = source
        self.client = client or WordPressClient(source)
        self.tz = zoneinfo.ZoneInfo(source.timezone)
        self.page_size = max(1, min(source.page_size or 100, 100))
        self.deleted: list[str] = []

    # ---- pulling -----------------------------------------------------------------------------------

    def fetch_new(self, form_id: str, after_id: int) -> Iterator[Page]:
        """Pages (lists of records) with ids greater than ``after_id``, ascending."""
        raise NotImplementedError

    def fetch_changed(
        self, form_id: str, since: datetime | None, flagged: Iterable[str] = ()
    ) -> Iterator[Page]:
        """Pages of records whose status may have changed upstream since ``since`` (spam, trash, restored).

        ``since`` None asks for every record the shape can re-read. ``flagged``: the external ids the CRM
        holds as spam or trash, for shapes that must look them up to notice a restore.
        """
        return iter(())

    def list_statuses(self, form_id: str) -> dict[str, str]:
        """``{external id: status}`` of every submission the site lists for the form."""
        statuses: dict[str, str] = {}
        for page in self.fetch_new(form_id, 0):
            statuses.update((item["external_id"], flag_of(item["status"])) for item in page)
        return statuses

    def list_ids(self, form_id: str) -> set[str]:
        """Every external id the site lists for the form."""
        return set(self.list_statuses(form_id))

    def to_record(self, form_id: str, item: object) -> Record:
        """The common record of one item the site listed."""
        raise NotImplementedError

    def _pages_after(self, form_id: str, after_id: int, read: Callable[[int], list[Any]]) -> Iterator[Page]:
        """Pages of records walked by keyset: ``read(cursor)`` lists the items after ``cursor``, ascending.

        The walk ends at a short page, or a page with no id above the cursor.
        """
        cursor = after_id
        while True:
            items = read(cursor)
            page = [self.to_record(form_id, item) for item in items]
            if page:
                yield page
            ids = [numeric_id(item.get("id")) for item in items if isinstance(item, dict)]
            numbers = [value for value in ids if value is not None]
            if len(items) < self.page_size or not numbers or max(numbers) <= cursor:
                return
            cursor = max(numbers)

    def _check_list(self, data: object, key: str) -> list[Any]:
        items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise SyncError(_("Unexpected answer: no “%(key)s” list.") % {"key": key})
        return items

    # ---- webhooks ----------------------------------------------------------------------------------

    @classmethod
    def reads_webhook(cls, payload: object, form_encoded: bool) -> bool:
        """Whether a webhook body (a decoded form, or parsed JSON) is in this connector's format."""
        return False

    def webhook_record(
        self, item: dict[str, Any], raw: Record, fallback_id: str, received_at: datetime | None
    ) -> Record:
        """The common record of one webhook item; ``raw`` is stored as its payload, ``fallback_id`` and
        ``received_at`` stand in for an id and a date the item lacks."""
        raise NotImplementedError
