"""Wagtail's database search backend, with user input quoted safely for SQLite's full-text search.

On SQLite, modelsearch writes each search term into an FTS5 query inside double quotes without doubling
the double quotes a user typed (and passes a quoted phrase through as typed), so a search such as
``😀'"<`` is an FTS5 syntax error and a server error. Here every term and phrase becomes an FTS5 string
with its quotes doubled: whatever is typed is searched as text, never read as query syntax. Terms with
no letter or digit (which the tokenizer drops anyway) are left out, so ``Acme - SA`` still finds
"Acme SA". On PostgreSQL and elsewhere the backend is modelsearch's own.

Configured as ``WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "core.search"}}``.
"""

from typing import Any

from django.db import connection
from modelsearch.backends import database
from modelsearch.backends.base import BaseSearchBackend


def SearchBackend(params: dict[str, Any]) -> BaseSearchBackend:
    """modelsearch's database backend for the current database, quoted safely on SQLite."""
    backend = database.SearchBackend(params)
    if connection.vendor != "sqlite":
        return backend
    # Imported only on SQLite: these modules need modelsearch's SQLite-only index model.
    from modelsearch.backends.database.sqlite.sqlite import SQLiteSearchBackend

    from .search_sqlite import QuotedSQLiteSearchBackend

    return QuotedSQLiteSearchBackend(params) if type(backend) is SQLiteSearchBackend else backend
