"""The benchmarks' database helpers: made once, made fresh, dropped, on the server Django uses."""

import psycopg
import pytest
from django.db import connection

from bench.harness import create_database, drop_database, sibling_url

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmarks run on PostgreSQL")


def _tables(url):
    with psycopg.connect(url) as probe:
        return probe.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'kept'").fetchone()[0]


def test_a_database_is_made_once_then_fresh_then_dropped():
    url = sibling_url(f"{connection.settings_dict['NAME']}_harness_probe")
    assert url.startswith("postgres://") and url.endswith("_harness_probe")
    drop_database(url)
    try:
        create_database(url)
        with psycopg.connect(url, autocommit=True) as probe:
            probe.execute("CREATE TABLE kept (id int)")
        create_database(url)
        assert _tables(url) == 1
        create_database(url, fresh=True)
        assert _tables(url) == 0
    finally:
        drop_database(url)
    with psycopg.connect(sibling_url("postgres")) as server:
        name = url.rsplit("/", 1)[1]
        assert not server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
