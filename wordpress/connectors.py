"""The three pull shapes behind one interface, each yielding pages of the common record.

A record is ``{source, form_id, external_id, submitted_at (UTC), updated_at, status, fields: {label: value},
field_ids: {field id: label}, meta: {ip, source_url, user_agent}, raw}``.
"""

import json
import zoneinfo
from datetime import UTC, datetime

from django.utils.translation import gettext as _

from .client import NotFoundError, SyncError, WordPressClient

META_KEYS = ("ip", "source_url", "user_agent")
SPAM_STATUSES = ("spam", "trash")
ACTIVE = "active"
# Not a WordPress status: a submission the legacy endpoint stopped listing (marked spam, trashed or deleted).
REMOVED = "removed"
FLAGGED_STATUSES = (*SPAM_STATUSES, REMOVED)


def flag_of(status):
    """The upstream status as the CRM tells them apart: ``spam``, ``trash``, ``removed`` or ``active``."""
    return status if status in FLAGGED_STATUSES else ACTIVE


def parse_local(value, tz):
    """A site-local ``Y-m-d H:i:s`` (or ISO 8601 without zone) as an aware UTC datetime, or None."""
    moment = _parse(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def parse_utc(value):
    moment = _parse(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse(value):
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return None


def record(
    source,
    form_id,
    external_id,
    submitted_at,
    fields,
    raw,
    *,
    updated_at=None,
    status="active",
    meta=None,
    field_ids=None,
):
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


def numeric_id(value):
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


class Connector:
    """Pulls one source: new rows after a cursor, rows changed since a moment, and every id held.

    ``LISTED_STATUSES``: the statuses the shape can list (reconciliation compares those, like with like).
    ``HIDES_FLAGGED``: the site leaves out what it flagged, so a submission that stops being listed was
    flagged (or deleted) there. ``deleted``: after ``fetch_changed``, the ids of ``flagged`` it found gone.
    """

    LISTED_STATUSES = (ACTIVE, *SPAM_STATUSES)
    HIDES_FLAGGED = False

    def __init__(self, source, client=None):
        self.source = source
        self.client = client or WordPressClient(source)
        self.tz = zoneinfo.ZoneInfo(source.timezone)
        self.page_size = max(1, min(source.page_size or 100, 100))
        self.deleted = []

    def fetch_new(self, form_id, after_id):
        """Pages (lists of records) with ids greater than ``after_id``, ascending."""
        raise NotImplementedError

    def fetch_changed(self, form_id, since, flagged=()):
        """Pages of records whose status may have changed upstream since ``since`` (spam, trash, restored).

        ``since`` None asks for every record the shape can re-read. ``flagged``: the external ids the CRM
        holds as spam or trash, for shapes that must look them up to notice a restore.
        """
        return iter(())

    def list_statuses(self, form_id):
        """``{external id: status}`` of every submission the site lists for the form."""
        statuses = {}
        for page in self.fetch_new(form_id, 0):
            statuses.update((item["external_id"], flag_of(item["status"])) for item in page)
        return statuses

    def list_ids(self, form_id):
        """Every external id the site lists for the form."""
        return set(self.list_statuses(form_id))

    def _check_list(self, data, key):
        items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise SyncError(_("Unexpected answer: no “%(key)s” list.") % {"key": key})
        return items


class LegacyConnector(Connector):
    """``GET <base>/<form_id>?since_id=&limit=&order=asc`` → ``{"form_submissions": [...]}`` (site-local times).

    The endpoint lists active submissions only: one the site marks spam or trashes just stops appearing.
    """

    LISTED_STATUSES = (ACTIVE,)
    HIDES_FLAGGED = True

    def url(self, form_id):
        return f"{self.source.url.rstrip('/')}/{form_id}"

    def fetch_new(self, form_id, after_id, created_after=None):
        cursor = after_id
        while True:
            params = {"since_id": cursor, "limit": self.page_size, "order": "asc"}
            if created_after is not None:
                params["after"] = created_after.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
            data, _headers = self.client.get(self.url(form_id), params)
            items = self._check_list(data, "form_submissions")
            page = [self.to_record(form_id, item) for item in items]
            if page:
                yield page
            ids = [numeric_id(item.get("id")) for item in items if isinstance(item, dict)]
            ids = [value for value in ids if value is not None]
            if len(items) < self.page_size or not ids or max(ids) <= cursor:
                return
            cursor = max(ids)

    def fetch_changed(self, form_id, since, flagged=()):
        """Every listed record created since ``since`` (all of them when None): the sync takes a held
        submission of that period missing from these pages as flagged on the site."""
        return self.fetch_new(form_id, 0, created_after=since)

    def list_statuses(self, form_id):
        data, _headers = self.client.get(self.url(form_id))
        return {
            str(item.get("id")): ACTIVE
            for item in self._check_list(data, "form_submissions")
            if isinstance(item, dict)
        }

    def to_record(self, form_id, item):
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


class GravityConnector(Connector):
    """Gravity Forms REST API v2: entries keyed by field id, labels from the form, UTC dates, keyset by id."""

    def __init__(self, source, client=None):
        super().__init__(source, client)
        self._labels = {}

    def base(self):
        return f"{self.source.url.rstrip('/')}/wp-json/gf/v2"

    def labels(self, form_id):
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

    def _entries(self, form_id, search, sorting_key="id", direction="ASC", page=1):
        params = {
            "paging[page_size]": self.page_size,
            "paging[current_page]": page,
            "sorting[key]": sorting_key,
            "sorting[direction]": direction,
            "search": json.dumps(search),
        }
        data, _headers = self.client.get(f"{self.base()}/forms/{form_id}/entries", params)
        return self._check_list(data, "entries")

    def fetch_new(self, form_id, after_id, status="active"):
        cursor = after_id
        while True:
            search = {
                "status": status,
                "field_filters": [{"key": "id", "value": str(cursor), "operator": ">"}],
            }
            items = self._entries(form_id, search)
            page = [self.to_record(form_id, item) for item in items]
            if page:
                yield page
            ids = [numeric_id(item.get("id")) for item in items if isinstance(item, dict)]
            ids = [value for value in ids if value is not None]
            if len(items) < self.page_size or not ids or max(ids) <= cursor:
                return
            cursor = max(ids)

    def fetch_changed(self, form_id, since, flagged=()):
        """Every spam and trash entry, then each of ``flagged`` no longer among them (restored or deleted).

        Gravity Forms keeps ``date_updated`` when an entry is marked spam or trashed from its entries list,
        so changes cannot be asked for by date: the spam and trash lists are read whole (``since`` unused).
        The ids of ``flagged`` the site no longer has at all (emptied trash, purged spam) end in ``deleted``.
        """
        self.deleted = []
        listed = set()
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

    def fetch_entry(self, entry_id):
        """One entry by id, whatever its status; None when the site no longer has it."""
        if numeric_id(entry_id) is None:
            return None
        try:
            data, _headers = self.client.get(f"{self.base()}/entries/{numeric_id(entry_id)}")
        except NotFoundError:
            return None
        return data if isinstance(data, dict) else None

    def list_statuses(self, form_id):
        statuses = {}
        for status in (ACTIVE, *SPAM_STATUSES):
            for page in self.fetch_new(form_id, 0, status=status):
                statuses.update((item["external_id"], status) for item in page)
        return statuses

    def to_record(self, form_id, item):
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
        known = set(labels) | {"id", "form_id", "date_created", "date_updated", "status", *META_KEYS}
        known |= {
            "is_starred",
            "is_read",
            "created_by",
            "currency",
            "payment_status",
            "post_id",
            "transaction_id",
        }
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


class CollectionConnector(Connector):
    """A WordPress-core-style collection walked by keyset (``after_id``, ``orderby=id``, ``order=asc``)."""

    def _get(self, form_id, **params):
        params = {"form_id": form_id, "per_page": self.page_size, "orderby": "id", "order": "asc", **params}
        data, _headers = self.client.get(self.source.url, params)
        if not isinstance(data, list):
            raise SyncError(_("Unexpected answer: the collection is not a list."))
        return data

    def _walk(self, form_id, after_id, **params):
        cursor = after_id
        while True:
            items = self._get(form_id, after_id=cursor, **params)
            page = [self.to_record(form_id, item) for item in items]
            if page:
                yield page
            ids = [numeric_id(item.get("id")) for item in items if isinstance(item, dict)]
            ids = [value for value in ids if value is not None]
            if len(items) < self.page_size or not ids or max(ids) <= cursor:
                return
            cursor = max(ids)

    def fetch_new(self, form_id, after_id):
        return self._walk(form_id, after_id, status="any")

    def fetch_changed(self, form_id, since, flagged=()):
        if since is None:
            return self._walk(form_id, 0, status="any")
        return self._walk(form_id, 0, status="any", modified_after=since.astimezone(UTC).isoformat())

    def to_record(self, form_id, item):
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


CONNECTORS = {"legacy": LegacyConnector, "gravity": GravityConnector, "collection": CollectionConnector}


def connector_for(source, client=None):
    return CONNECTORS[source.shape](source, client)
