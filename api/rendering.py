"""JSON for pages of ``values()`` rows, the extraction's hot path, written without models or a schema
pass per row. On PostgreSQL the database writes the page's JSON itself (``json_agg``) in the page's one
query; elsewhere Python does. Times in ISO 8601 with their offset, amounts as strings."""

import datetime
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpResponse


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(data: Any) -> str:
    return json.dumps(data, default=_plain, ensure_ascii=False, separators=(",", ":"))


def json_response(data: Any, status: int = 200) -> HttpResponse:
    return raw_json_response(dumps(data), status)


def raw_json_response(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")


def rows_as_json(
    rows: QuerySet[Any, dict[str, Any]],
    columns: Sequence[str],
    keys: Sequence[str],
    as_text: Sequence[str] = (),
) -> tuple[str, int, dict[str, Any] | None]:
    """``rows`` (a sliced ``values()`` query over ``columns``, ordered by ``keys``) as a JSON array, how
    many there are and the last one's ``keys``; ``as_text`` columns (decimals) become strings."""
    if connection.vendor != "postgresql":
        found = list(rows)
        last = {key: found[-1][key] for key in keys} if found else None
        return dumps(found), len(found), last
    try:
        inner, params = rows.query.sql_with_params()
    except EmptyResultSet:  # ``none()`` (a role that sees no lead) or a value no row can have
        return "[]", 0, None
    quoted = connection.ops.quote_name
    select = ", ".join(
        f"t.{quoted(name)}::text AS {quoted(name)}" if name in as_text else f"t.{quoted(name)}"
        for name in columns
    )
    ascending = ", ".join(f"r.{quoted(key)}" for key in keys)
    descending = ", ".join(f"r.{quoted(key)} DESC" for key in keys)
    lasts = ", ".join(f"(array_agg(r.{quoted(key)} ORDER BY {descending}))[1]" for key in keys)
    sql = (
        f"SELECT COALESCE(json_agg(r ORDER BY {ascending}), '[]')::text, count(*), {lasts}"  # noqa: S608 - our names
        f" FROM (SELECT {select} FROM ({inner}) t) r"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        body, count, *last = cursor.fetchone()
    return body, count, (dict(zip(keys, last, strict=True)) if count else None)
