"""``manage.py backup`` then ``manage.py restore`` elsewhere: every table's rows and the uploaded files
come back the same (on SQLite embedded; on PostgreSQL when DATABASE_URL names one)."""

import hashlib
import os
import sqlite3
import subprocess
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from crm.models import Lead
from ops import backup as ops_backup

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def table_contents(cursor, tables, quote):
    """Independent of ops.backup: per table, the row count and a hash of its rows' text, sorted."""
    result = {}
    for table in tables:
        if cursor.connection.__class__.__module__.startswith("sqlite3"):
            columns = [row[1] for row in cursor.execute(f'PRAGMA table_info("{table}")').fetchall()]
            cursor.execute(f"SELECT {', '.join(f'quote({quote(c)})' for c in columns)} FROM {quote(table)}")  # noqa: S608
        else:
            cursor.execute(f"SELECT t::text FROM {quote(table)} t")  # noqa: S608
        rows = sorted(repr(tuple(row)) for row in cursor.fetchall())
        result[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return result


def source_contents():
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        raw = cursor.cursor if connection.vendor == "sqlite" else cursor
        return table_contents(raw, tables, connection.ops.quote_name)


@pytest.fixture
def populated(settings, tmp_path):
    """The demo data, plus an uploaded image and a file a lead sent on WhatsApp."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CONVERSATIONS_MEDIA_ROOT = tmp_path / "private"
    (settings.MEDIA_ROOT / "original_images").mkdir(parents=True)
    (settings.MEDIA_ROOT / "original_images" / "logo.png").write_bytes(b"\x89PNG fake image")
    (settings.CONVERSATIONS_MEDIA_ROOT / "2026" / "12").mkdir(parents=True)
    (settings.CONVERSATIONS_MEDIA_ROOT / "2026" / "12" / "quote.pdf").write_bytes(b"%PDF-1.7 quote")
    call_command("seed_demo", "--leads", "40", stdout=StringIO())
    assert Lead.objects.count() >= 40
    return tmp_path


def restore_elsewhere(archive, database_url, tmp_path, *extra):
    """``manage.py restore`` in its own process, on another database and other media folders."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "intralog.settings.test",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
        "CONVERSATIONS_MEDIA_ROOT": str(tmp_path / "restored-private"),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "restore", str(archive), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_files_restored(tmp_path):
    assert (tmp_path / "restored-media/original_images/logo.png").read_bytes() == b"\x89PNG fake image"
    assert (tmp_path / "restored-private/2026/12/quote.pdf").read_bytes() == b"%PDF-1.7 quote"


def backup_now(tmp_path):
    out = StringIO()
    call_command("backup", "--output", str(tmp_path / "backups"), "--keep", "3", stdout=out)
    archive = Path(out.getvalue().split(" (")[0])
    assert archive.is_file() and archive.name.startswith("intralog-") and archive.name.endswith(".tar.gz")
    return archive


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the PostgreSQL run has its own test below")
def test_sqlite_backup_restores_every_table_elsewhere(populated, tmp_path):
    tmp_path = populated
    archive = backup_now(tmp_path)
    expected = source_contents()
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "database.sqlite3", "media/original_images/logo.png"} <= names
    assert "private/2026/12/quote.pdf" in names

    target = tmp_path / "restored.sqlite3"
    result = restore_elsewhere(archive, f"sqlite:///{target}", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "every table matches" in result.stdout
    with sqlite3.connect(target) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        restored = table_contents(db.cursor(), [t for t in tables if not t.startswith("sqlite_")], _dq)
    assert restored == expected
    assert restored["crm_lead"][0] == Lead.objects.count()
    assert_files_restored(tmp_path)

    again = restore_elsewhere(archive, f"sqlite:///{target}", tmp_path)
    assert again.returncode != 0 and "not empty" in again.stderr
    forced = restore_elsewhere(archive, f"sqlite:///{target}", tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr


def _dq(name):
    return f'"{name}"'


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs DATABASE_URL on PostgreSQL")
def test_postgres_backup_restores_every_table_into_a_fresh_database(populated, tmp_path):
    import psycopg

    tmp_path = populated
    archive = backup_now(tmp_path)
    expected = source_contents()
    with tarfile.open(archive) as tar:
        assert "database.dump" in tar.getnames()

    params = connection.settings_dict
    fresh = f"{params['NAME']}_restored"
    url = os.environ["DATABASE_URL"]
    admin = psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{fresh}"')
    admin.execute(f'CREATE DATABASE "{fresh}"')
    try:
        fresh_url = urlunsplit(urlsplit(url)._replace(path=f"/{fresh}"))
        result = restore_elsewhere(archive, fresh_url, tmp_path)
        assert result.returncode == 0, result.stderr
        with psycopg.connect(fresh_url) as db, db.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
            tables = [name for (name,) in cursor.fetchall()]
            restored = table_contents(cursor, tables, connection.ops.quote_name)
        assert restored == expected
        assert restored["crm_lead"][0] == Lead.objects.count()
        assert_files_restored(tmp_path)
        again = restore_elsewhere(archive, fresh_url, tmp_path)
        assert again.returncode != 0 and "not empty" in again.stderr
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
        admin.close()


def test_retention_keeps_the_newest(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "none"
    settings.CONVERSATIONS_MEDIA_ROOT = tmp_path / "none-private"
    directory = tmp_path / "backups"
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    made = [ops_backup.backup(directory, keep=2, now=start + timedelta(days=day)) for day in range(4)]
    assert ops_backup.archives(directory) == made[2:]
    assert [p.name for p in made[2:]] == [
        "intralog-20261203T030000Z.tar.gz",
        "intralog-20261204T030000Z.tar.gz",
    ]
    assert not list(directory.glob("*.partial"))
    assert oct(made[-1].stat().st_mode & 0o777) == "0o600"


def test_restore_refuses_a_database_with_tables_and_bad_archives(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "none"
    settings.CONVERSATIONS_MEDIA_ROOT = tmp_path / "none-private"
    archive = ops_backup.backup(tmp_path, keep=1)
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(archive))
    with pytest.raises(CommandError, match="No such archive"):
        call_command("restore", str(tmp_path / "missing.tar.gz"))
    with pytest.raises(CommandError, match="at least 1"):
        call_command("backup", "--output", str(tmp_path), "--keep", "0")
