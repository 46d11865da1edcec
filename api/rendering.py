"""JSON for pages of ``values()`` rows, written straight from the rows (no schema pass per row): the
extraction's hot path. Times in ISO 8601 with their offset, decimals as strings."""

import datetime
import json
from decimal import Decimal
from typing import Any

from django.http import HttpResponse


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(data: Any, status: int = 200) -> HttpResponse:
    body = json.dumps(data, default=_plain, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
