"""Backups that restore: one timestamped ``.tar.gz`` holding the database, the uploaded media, the
conversations' private files and a manifest with every table's row count and content checksum.

PostgreSQL is dumped with ``pg_dump -Fc`` from a snapshot exported by a read-only transaction that also
computes the checksums, so the dump and the manifest describe the same instant. SQLite is copied with
its online backup API and the checksums are read from the copy. A restore refuses a database that has
tables (unless forced), then checks every table against the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _

FORMAT = 1
PREFIX = "intralog-"
SUFFIX = ".tar.gz"
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_FILE = "database.sqlite3"
MEDIA_DIR = "media"
PRIVATE_DIR = "private"

Fingerprints = dict[str, list[Any]]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


@dataclass(frozen=True)
class RestoreResult:
    tables: int
    rows: int
    files: int


def _quote(conn: BaseDatabaseWrapper, table: str) -> str:
    return conn.ops.quote_name(table)


def _row_digest(row: tuple[Any, ...]) -> int:
    values = tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)
    return int.from_bytes(hashlib.sha256(repr(values).encode()).digest()[:16], "big")


def sqlite_fingerprints(db: sqlite3.Connection) -> Fingerprints:
    """Per table of an SQLite database: its row count and an order-independent checksum of its rows."""
    result: Fingerprints = {}
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    for table in tables:
        count, total = 0, 0
        # quote() gives each value's SQL literal, whatever type converters the connection has.
        columns = ", ".join(
            f'quote("{column}")' for _cid, column, *_rest in db.execute(f'PRAGMA table_info("{table}")')
        )
        for row in db.execute(f'SELECT {columns} FROM "{table}"'):  # noqa: S608 - names from sqlite_master
            count += 1
            total = (total + _row_digest(row)) % (1 << 128)
        result[table] = [count, f"{total:032x}"]
    return result


def _raw_sqlite(conn: BaseDatabaseWrapper) -> sqlite3.Connection:
    """Django's own SQLite connection (a file or, in tests, a shared in-memory database)."""
    conn.ensure_connection()
    raw = conn.connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


PG_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND NOT c.relispartition ORDER BY 1
"""
PG_CHECKSUM = (
    "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint::numeric), 0)::text "
    "FROM {table} t"
)


def pg_fingerprints(cursor: Any, conn: BaseDatabaseWrapper) -> Fingerprints:
    """Per table of the current schema: its row count and an order-independent checksum of its rows
    (computed in the server, within the cursor's transaction)."""
    cursor.execute(PG_TABLES)
    tables = [name for (name,) in cursor.fetchall()]
    result: Fingerprints = {}
    for table in tables:
        cursor.execute(PG_CHECKSUM.format(table=_quote(conn, table)))
        count, total = cursor.fetchone()
        result[table] = [count, total]
    return result


def _pg_env(conn: BaseDatabaseWrapper) -> dict[str, str]:
    """libpq's environment for the connection's settings (the password never on a command line)."""
    params = conn.settings_dict
    env = {**os.environ}
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if params.get(key):
            env[name] = str(params[key])
    env["PGDATABASE"] = str(params["NAME"])
    sslmode = params.get("OPTIONS", {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return env


def _dump_postgres(conn: BaseDatabaseWrapper, target: Path) -> Fingerprints:
    """``pg_dump`` from an exported snapshot; the checksums are read in the same snapshot."""
    reader = connections.create_connection(conn.alias)
    try:
        with reader.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            _run(
                ["pg_dump", "--format=custom", "--compress=0", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot}", f"--file={target}"],
                env=_pg_env(conn),
            )  # fmt: skip
            fingerprints = pg_fingerprints(cursor, reader)
            cursor.execute("COMMIT")
    finally:
        reader.close()
    return fingerprints


def _dump_sqlite(conn: BaseDatabaseWrapper, target: Path) -> Fingerprints:
    """The online backup API: a consistent copy even while others write."""
    copy = sqlite3.connect(target)
    try:
        _raw_sqlite(conn).backup(copy)
        return sqlite_fingerprints(copy)
    finally:
        copy.close()


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(
            _("%(command)s failed: %(error)s")
            % {"command": command[0], "error": result.stderr.strip()[-2000:]}
        )


def _media_roots() -> list[tuple[str, Path]]:
    return [(MEDIA_DIR, Path(settings.MEDIA_ROOT)), (PRIVATE_DIR, Path(settings.CONVERSATIONS_MEDIA_ROOT))]


def _add_tree(archive: tarfile.TarFile, root: Path, arcname: str) -> int:
    files = 0
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            archive.add(path, arcname=f"{arcname}/{path.relative_to(root).as_posix()}", recursive=False)
            files += 1
    return files


def archive_name(moment: datetime) -> str:
    return f"{PREFIX}{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"


def archives(directory: Path) -> list[Path]:
    """The backups in ``directory``, oldest first (their names sort by time)."""
    return sorted(directory.glob(f"{PREFIX}*{SUFFIX}")) if directory.is_dir() else []


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest archives; returns those deleted."""
    existing = archives(directory)
    doomed = existing[: max(0, len(existing) - keep)]
    for path in doomed:
        path.unlink()
    return doomed


def backup(directory: Path, keep: int, alias: str = "default", now: datetime | None = None) -> Path:
    """Write one archive into ``directory`` (created if missing), then keep the ``keep`` newest."""
    if keep < 1:
        raise BackupError(_("--keep must be at least 1."))
    conn = connections[alias]
    directory.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(UTC)
    target = directory / archive_name(moment)
    partial = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="intralog-backup-") as work:
        if conn.vendor == "postgresql":
            dump = Path(work) / PG_DUMP
            fingerprints = _dump_postgres(conn, dump)
        elif conn.vendor == "sqlite":
            dump = Path(work) / SQLITE_FILE
            fingerprints = _dump_sqlite(conn, dump)
        else:
            raise BackupError(
                _("Backups of %(vendor)s databases are not supported.") % {"vendor": conn.vendor}
            )
        manifest = {
            "format": FORMAT,
            "created_at": moment.isoformat(),
            "vendor": conn.vendor,
            "database": dump.name,
            "tables": fingerprints,
        }
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            archive.add(dump, arcname=dump.name)
            files = sum(_add_tree(archive, root, name) for name, root in _media_roots())
            manifest["files"] = files
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(moment.timestamp())
            with tempfile.SpooledTemporaryFile() as buffer:
                buffer.write(data)
                buffer.seek(0)
                archive.addfile(info, buffer)
    partial.chmod(0o600)
    partial.replace(target)
    prune(directory, keep)
    return target


def read_manifest(archive_path: Path) -> dict[str, Any]:
    with tarfile.open(archive_path, "r:gz") as archive:
        member = archive.extractfile(MANIFEST)
        if member is None:
            raise BackupError(_("The archive has no manifest."))
        manifest: dict[str, Any] = json.load(member)
    if manifest.get("format") != FORMAT:
        raise BackupError(_("Unknown archive format %(format)r.") % {"format": manifest.get("format")})
    return manifest


def database_is_empty(alias: str = "default") -> bool:
    with connections[alias].cursor() as cursor:
        return not connections[alias].introspection.table_names(cursor)


@contextmanager
def _extracted(archive_path: Path) -> Iterator[Path]:
    with (
        tempfile.TemporaryDirectory(prefix="intralog-restore-") as work,
        tarfile.open(archive_path) as archive,
    ):
        archive.extractall(work, filter="data")
        yield Path(work)


def _restore_postgres(conn: BaseDatabaseWrapper, dump: Path, force: bool) -> Fingerprints:
    command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if force:
        command += ["--clean", "--if-exists"]
    conn.close()
    _run([*command, f"--dbname={conn.settings_dict['NAME']}", str(dump)], env=_pg_env(conn))
    with conn.cursor() as cursor:
        return pg_fingerprints(cursor, conn)


def _restore_sqlite(conn: BaseDatabaseWrapper, copy: Path) -> Fingerprints:
    source = sqlite3.connect(copy)
    try:
        destination = _raw_sqlite(conn)
        source.backup(destination)
        return sqlite_fingerprints(destination)
    finally:
        source.close()


def _restore_tree(source: Path, root: Path) -> int:
    if not source.is_dir():
        return 0
    files = 0
    for path in sorted(source.rglob("*")):
        if path.is_file():
            destination = root / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            files += 1
    return files


def restore(archive_path: Path, alias: str = "default", force: bool = False) -> RestoreResult:
    """Restore an archive into the database (empty unless ``force``) and the media folders, then check
    every table's row count and checksum against the manifest."""
    manifest = read_manifest(archive_path)
    conn = connections[alias]
    if manifest["vendor"] != conn.vendor:
        raise BackupError(
            _("The archive holds a %(archive)s database; this one is %(vendor)s.")
            % {"archive": manifest["vendor"], "vendor": conn.vendor}
        )
    if not force and not database_is_empty(alias):
        raise BackupError(_("The database is not empty: restore into an empty one, or pass --force."))
    with _extracted(archive_path) as work:
        dump = work / manifest["database"]
        if conn.vendor == "postgresql":
            restored = _restore_postgres(conn, dump, force)
        else:
            restored = _restore_sqlite(conn, dump)
        files = sum(_restore_tree(work / name, root) for name, root in _media_roots())
    expected = manifest["tables"]
    different = sorted(
        table for table in set(expected) | set(restored) if expected.get(table) != restored.get(table)
    )
    if different:
        raise BackupError(
            _("Restored tables differ from the backup: %(tables)s") % {"tables": ", ".join(different[:20])}
        )
    return RestoreResult(
        tables=len(restored), rows=sum(count for count, _sum in restored.values()), files=files
    )
