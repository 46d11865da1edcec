"""Reading the old Leads Manager's database through plain DB-API: SQLite (stdlib), PostgreSQL (psycopg 3),
MySQL when the optional ``pymysql`` driver is installed. Read only; rows come in batches by submission id."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.utils.translation import gettext as _

SUBMISSION_COLUMNS = (
    "id",
    "empresa",
    "fecha_creacion",
    "razon_social",
    "nombre_y_apellido",
    "servicio",
    "mail",
    "telefono",
    "origen",
    "sub_origen",
    "mensaje",
    "avance",
    "estado",
    "form_id",
    "submission_id",
    "data",
    "assigned_user_id",
    "management_message",
    "campaign_id",
)
HISTORY_COLUMNS = ("id", "form_submission_id", "previous_status", "new_status", "updated_by_id", "timestamp")
SQLITE_HEADER = b"SQLite format 3\x00"


class LegacyDatabaseError(Exception):
    """The old database cannot be opened or is not the old Leads Manager's."""


@dataclass
class OldUser:
    id: int
    username: str
    email: str


@dataclass
class OldHistory:
    id: int
    submission_id: int
    previous_status: str | None
    new_status: str
    updated_by_id: int | None
    timestamp: datetime


@dataclass
class OldSubmission:
    id: int
    values: dict[str, Any]
    data: dict[str, Any]
    created: datetime
    history: list[OldHistory]


def to_datetime(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite and MySQL keep them naive, in UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    if not isinstance(value, datetime):
        raise ValueError(_("Not a date and time: %(value)r") % {"value": value})
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_json(value: Any) -> dict[str, Any]:
    """The raw submission as a JSON object (text on SQLite and MySQL, decoded already on PostgreSQL)."""
    if isinstance(value, bytes | bytearray):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return {"text": value}
    if isinstance(value, dict):
        return value
    return {} if value is None else {"value": value}


class OldDatabase:
    """An open connection to the old database (a file path or ``sqlite:``, ``postgres:``, ``mysql:`` URL)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.connection, self.mark = _connect(source)
        self._check()

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> OldDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql.replace("%s", self.mark), params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _check(self) -> None:
        try:
            self._query("SELECT id, estado, form_id FROM formsapp_formsubmission WHERE 1 = 0")
            self._query("SELECT id, new_status FROM formsapp_leadhistory WHERE 1 = 0")
            self._query("SELECT id, username, email FROM usersapp_customuser WHERE 1 = 0")
        except Exception as error:
            self.close()
            raise LegacyDatabaseError(
                _("This is not the old Leads Manager's database (%(error)s).") % {"error": error}
            ) from error

    def users(self) -> dict[int, OldUser]:
        rows = self._query("SELECT id, username, email FROM usersapp_customuser")
        return {row[0]: OldUser(row[0], row[1] or "", row[2] or "") for row in rows}

    def campaigns(self) -> dict[int, str]:
        try:
            return {row[0]: row[1] or "" for row in self._query("SELECT id, name FROM formsapp_campaign")}
        except Exception:
            return {}

    def user_references(self) -> dict[int, tuple[int, int]]:
        """``{old user id: (submissions assigned to them, history rows they wrote)}``."""
        found: dict[int, tuple[int, int]] = {}
        for old_id, count in self._query(
            "SELECT assigned_user_id, COUNT(*) FROM formsapp_formsubmission "
            "WHERE assigned_user_id IS NOT NULL GROUP BY assigned_user_id"
        ):
            found[old_id] = (int(count), 0)
        for old_id, count in self._query(
            "SELECT updated_by_id, COUNT(*) FROM formsapp_leadhistory WHERE updated_by_id IS NOT NULL GROUP BY updated_by_id"
        ):
            found[old_id] = (found.get(old_id, (0, 0))[0], int(count))
        return found

    def counts(self) -> tuple[int, int]:
        submissions = self._query("SELECT COUNT(*) FROM formsapp_formsubmission")[0][0]
        history = self._query("SELECT COUNT(*) FROM formsapp_leadhistory")[0][0]
        return int(submissions), int(history)

    def batches(self, size: int = 2000) -> Iterator[list[OldSubmission]]:
        """Every submission with its history rows (oldest first), ``size`` submissions at a time."""
        columns = ", ".join(SUBMISSION_COLUMNS)
        history_columns = ", ".join(HISTORY_COLUMNS)
        after = -1
        while True:
            rows = self._query(
                f"SELECT {columns} FROM formsapp_formsubmission WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608
                (after, size),
            )
            if not rows:
                return
            first, after = rows[0][0], rows[-1][0]
            history: dict[int, list[OldHistory]] = {}
            for row in self._query(
                f"SELECT {history_columns} FROM formsapp_leadhistory "  # noqa: S608
                "WHERE form_submission_id BETWEEN %s AND %s ORDER BY form_submission_id, timestamp, id",
                (first, after),
            ):
                history.setdefault(row[1], []).append(
                    OldHistory(row[0], row[1], row[2], row[3] or "", row[4], to_datetime(row[5]))
                )
            yield [self._submission(row, history.get(row[0], [])) for row in rows]

    @staticmethod
    def _submission(row: tuple[Any, ...], history: list[OldHistory]) -> OldSubmission:
        values = dict(zip(SUBMISSION_COLUMNS, row, strict=True))
        return OldSubmission(
            id=values["id"],
            values=values,
            data=to_json(values.pop("data")),
            created=to_datetime(values["fecha_creacion"]),
            history=history,
        )


def _connect(source: str) -> tuple[Any, str]:
    """A read-only DB-API connection and its parameter mark."""
    scheme = urlsplit(source).scheme.lower() if "://" in source else ""
    if scheme in ("", "sqlite", "file"):
        path = Path(unquote(urlsplit(source).path) if scheme else source)
        try:
            with path.open("rb") as file:
                if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                    raise LegacyDatabaseError(_("The file is not an SQLite database."))
        except OSError as error:
            raise LegacyDatabaseError(_("The file cannot be read: %(error)s") % {"error": error}) from error
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        return connection, "?"
    if scheme in ("postgres", "postgresql", "pgsql"):
        import psycopg

        try:
            return psycopg.connect(source, autocommit=True), "%s"
        except psycopg.Error as error:
            raise LegacyDatabaseError(_("Cannot connect: %(error)s") % {"error": error}) from error
    if scheme.startswith("mysql"):
        return _connect_mysql(source), "%s"
    raise LegacyDatabaseError(_("Give an SQLite file or a postgres:// or mysql:// URL."))


def _connect_mysql(source: str) -> Any:
    try:
        import pymysql  # type: ignore[import-not-found,unused-ignore]
    except ImportError as error:
        raise LegacyDatabaseError(
            _("Reading MySQL needs the optional PyMySQL driver (pip install PyMySQL).")
        ) from error
    url = urlsplit(source)
    try:
        return pymysql.connect(
            host=url.hostname or "127.0.0.1",
            port=url.port or 3306,
            user=unquote(url.username or ""),
            password=unquote(url.password or ""),
            database=url.path.lstrip("/"),
            charset="utf8mb4",
        )
    except pymysql.Error as error:
        raise LegacyDatabaseError(_("Cannot connect: %(error)s") % {"error": error}) from error
