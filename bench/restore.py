"""Backup and restore benchmark: the 1M-lead database backed up, then restored into an empty one and verified.

``manage.py backup`` and ``manage.py restore`` run as an operator runs them, each in a child process:
the backup of the benchmark's database into a temporary directory, then the restore of that archive into
a new, empty database (``RESTORE_BENCH_DATABASE_URL``), which checks every table's row count and checksum
against the archive's manifest before it reports success. The restore's wall time is the figure (issue 23:
a 1M-lead backup restored and verified in under 10 minutes). The restored database is dropped afterwards.
"""

import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from django.db import connection

from bench.harness import create_database, drop_database, machine_line, write_section
from bench.loader import ensure_dataset

BASE_DIR = Path(__file__).resolve().parent.parent
RESTORE_URL = os.environ.get(
    "RESTORE_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/intralog_bench_restore"
)
TARGET_SECONDS = 600
QUICK_LEADS = 10_000


def _manage(args, database_url, media):
    """Run ``manage.py`` with ``args`` on ``database_url``; returns (seconds, CPU seconds of children, output)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "intralog.settings.bench",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media / "media"),
        "CONVERSATIONS_MEDIA_ROOT": str(media / "private"),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, cpu, done.stdout.strip()


def run(args):
    leads = QUICK_LEADS if args.quick else args.leads
    report = ensure_dataset(leads)
    print(report, flush=True)
    source_url = os.environ["DATABASE_URL"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        (database_bytes,) = cursor.fetchone()
    connection.close()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="intralog-bench-restore-") as work:
        work = Path(work)
        for folder in ("source/media", "source/private", "target/media", "target/private"):
            (work / folder).mkdir(parents=True)
        (work / "source/media/logo.txt").write_text("a kept upload\n")
        backup_seconds, backup_cpu, backup_output = _manage(
            ["backup", "--output", str(work / "archives"), "--keep", "1"], source_url, work / "source"
        )
        print(backup_output, flush=True)
        (archive,) = (work / "archives").glob("*.tar.gz")
        archive_bytes = archive.stat().st_size
        create_database(RESTORE_URL, fresh=True)
        try:
            restore_seconds, restore_cpu, restore_output = _manage(
                ["restore", str(archive)], RESTORE_URL, work / "target"
            )
            print(restore_output, flush=True)
        finally:
            drop_database(RESTORE_URL)
    load_after = os.getloadavg()
    verdict = "met" if restore_seconds < TARGET_SECONDS else "**not met**"
    loads = " / ".join(" ".join(f"{x:.1f}" for x in load) for load in (load_before, load_after))
    header = "  \n".join(
        [
            f"Machine: {machine_line()}",
            f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · dataset: {leads:,} leads · {report}",
            f"Load average (1/5/15 min) before / after: {loads} on {os.cpu_count()} cores.",
        ]
    )
    body = f"""
{header}

`manage.py backup` of the benchmark's database ({database_bytes / 2**20:,.0f} MB on disk), then `manage.py restore`
of its archive into a new, empty database, each in its own process as an operator runs them. The restore
extracts the archive, runs `pg_restore`, copies the media back and compares every table's row count and
content checksum with the manifest written at backup time; it fails on any difference.

| step | wall s | CPU s (command and its `pg_dump` / `pg_restore`) | output |
|---|---|---|---|
| backup | {backup_seconds:.0f} | {backup_cpu:.0f} | archive {archive_bytes / 2**20:,.0f} MB |
| **restore, verified** | **{restore_seconds:.0f}** | {restore_cpu:.0f} | {restore_output} |

Target: a 1M-lead backup restored and verified in under {TARGET_SECONDS // 60} minutes: {verdict}.
"""
    write_section("restore", "Backup and restore at 1,000,000 leads", body)
    print(body, flush=True)
