"""Import from the old Leads Manager (issue 20): 100,000 old submissions with 500,000 history rows.

``run(args)`` starts a child process on its own PostgreSQL database (``LEGACY_BENCH_DATABASE_URL``), which
builds the old app's SQLite database with its own schema (``tests.legacy_support``), empties the CRM's
leads, and measures ``import_legacy``: the first import (then the dashboards' rebuild), a re-run with
nothing changed, a re-run after 1% of the old submissions moved on, and a dry run. Target: the first
import under 5 minutes.
"""

import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import create_database

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "LEGACY_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/intralog_bench_legacy"
)
PIPELINE = ["pendiente", "asignado", "contactado", "cotizado", "gestionExitosa"]


def run(args):
    submissions = 5_000 if getattr(args, "quick", False) else 100_000
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="intralog.settings.bench", DATABASE_URL=DATABASE_URL)
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.legacy", str(submissions)], cwd=BASE_DIR, env=env, check=True
    )


def build_old_database(path, submissions, users):
    """The old app's database: ``submissions`` rows, each with a creation row and four moves (5 history
    rows each), owners and actors among ``users`` old users (the last two unknown to the CRM)."""
    from tests.legacy_support import SUBMISSION_FIELDS, OldApp, stamp

    old = OldApp(path)
    for number in range(1, users + 1):
        old.user(number, f"vendedor{number}", f"vendedor{number}@viejo.example")
    randomise = random.Random(20)  # noqa: S311 - test data
    start = datetime(2022, 1, 1, tzinfo=UTC)
    rows, history = [], []
    marks = ", ".join("?" * len(SUBMISSION_FIELDS))
    for number in range(1, submissions + 1):
        created = start + timedelta(minutes=number * 13)
        form = randomise.choice((3, 4, 5, 7))
        owner = randomise.randint(1, users)
        rows.append(
            (
                number,
                "INTRAPAL" if form == 7 else "INTRALOG",
                stamp(created),
                f"Empresa {number} SA",
                f"Contacto Número {number}",
                "Compra de pallets" if form == 7 else "Almacenamiento y depósito",
                f"contacto{number}@cliente.example",
                f"(011) 15 {4000 + number % 5000:04d}-{number % 10000:04d}",
                "Web",
                "Formulario",
                "Necesitamos una cotización para el mes próximo. " * 3,
                "",
                PIPELINE[-1],
                form,
                10_000 + number,
                '{"Ubicación": "Buenos Aires", "utm_source": "google", "utm_medium": "cpc"}',
                owner,
                "Llamar antes del viernes" if number % 4 == 0 else None,
                None,
            )
        )
        at = created
        history.append((None, "pendiente", stamp(at), number, None))
        for previous, new in zip(PIPELINE[:-1], PIPELINE[1:], strict=True):
            at += timedelta(hours=randomise.randint(1, 72))
            history.append((previous, new, stamp(at), number, randomise.randint(1, users)))
    old.connection.executemany(
        f"INSERT INTO formsapp_formsubmission ({', '.join(SUBMISSION_FIELDS)}) VALUES ({marks})",  # noqa: S608
        rows,
    )
    old.connection.executemany(
        "INSERT INTO formsapp_leadhistory (previous_status, new_status, timestamp, form_submission_id, "
        "updated_by_id) VALUES (?, ?, ?, ?, ?)",
        history,
    )
    return old


def _backend_cpu(connection):
    """CPU seconds the PostgreSQL backend serving ``connection`` has used (it runs on this machine)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(submissions):
    create_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.harness import machine_line, write_section
    from crm.models import Brand, Lead, LeadEvent, Role, User
    from legacy.importer import import_legacy

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE crm_lead, legacy_legacysubmission, wagtailcore_modellogentry CASCADE")
    users = 20
    for number in range(1, users - 1):
        user, _created = User.objects.get_or_create(
            username=f"vendedor{number}",
            defaults={"email": f"vendedor{number}@intralog.example", "role": Role.EMPLOYEE},
        )
        user.brands.set(Brand.objects.all())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "db.sqlite3"
        started = time.perf_counter()
        old = build_old_database(path, submissions, users)
        old.save()
        built = time.perf_counter() - started
        history = old.connection.execute("SELECT COUNT(*) FROM formsapp_leadhistory").fetchone()[0]

        cpu, started, server = time.process_time(), time.perf_counter(), _backend_cpu(connection)
        first = import_legacy(str(path), rebuild_dashboards=False)
        first_seconds, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = _backend_cpu(connection) - server
        started = time.perf_counter()
        call_command("rebuild_dashboards", verbosity=0)
        rebuild_seconds = time.perf_counter() - started
        events = LeadEvent.objects.count()
        leads = Lead.objects.count()

        started = time.perf_counter()
        same = import_legacy(str(path))
        same_seconds = time.perf_counter() - started

        moved = submissions // 100
        old.connection.execute(
            "UPDATE formsapp_formsubmission SET estado = 'nuevoCliente' WHERE id % 100 = 0"
        )
        old.connection.execute(
            "INSERT INTO formsapp_leadhistory (previous_status, new_status, timestamp, form_submission_id, "
            "updated_by_id) SELECT 'gestionExitosa', 'nuevoCliente', '2026-01-01 12:00:00.000000', id, 1 "
            "FROM formsapp_formsubmission WHERE id % 100 = 0"
        )
        old.save()
        started = time.perf_counter()
        changed = import_legacy(str(path))
        changed_seconds = time.perf_counter() - started

        started = time.perf_counter()
        dry = import_legacy(str(path), dry_run=True)
        dry_seconds = time.perf_counter() - started

    total = first_seconds + rebuild_seconds
    rows = [
        (
            "first import",
            f"{first_seconds:.1f}",
            f"{first.created:,} leads, {first.events:,} events, {first.notes:,} notes; CPU {first_cpu:.1f} s Python, {server_cpu:.1f} s PostgreSQL",
        ),
        ("dashboards rebuild after it", f"{rebuild_seconds:.1f}", "the rollup from every event"),
        (
            "re-run, nothing changed",
            f"{same_seconds:.1f}",
            f"{same.unchanged:,} unchanged, {same.created} created",
        ),
        (
            f"re-run, {moved:,} moved on",
            f"{changed_seconds:.1f}",
            f"{changed.updated:,} updated, {changed.events:,} events (+ rebuild)",
        ),
        ("dry run", f"{dry_seconds:.1f}", f"{dry.unchanged:,} unchanged"),
    ]
    table = "\n".join(f"| {name} | {seconds} | {note} |" for name, seconds, note in rows)
    body = f"""{machine_line()}

`python -m bench legacy` (`bench/legacy.py`): the old app's SQLite database (its own schema) with
{submissions:,} submissions and {history:,} history rows (built in {built:.1f} s; {users} old users, 2 unknown
here), imported into PostgreSQL. Target: the first import under 5 minutes. Measured: **{total:.1f} s** including
the dashboards' rebuild ({leads:,} leads, {events:,} lead events, peak memory {_peak_mb():.0f} MB).
Unknown users listed: {len(first.unknown_users)}. Load average at the end: {os.getloadavg()[0]:.1f} on this
{os.cpu_count()}-core host; the CPU seconds below say what the work itself needs, whatever else the host runs.

| case | seconds | note |
|---|---|---|
{table}
"""
    write_section("legacy", "Import from the old Leads Manager", body)
    print(body)
    assert (first.created, same.created, changed.created) == (submissions, 0, 0)
    assert changed.updated == moved


if __name__ == "__main__":
    child(int(sys.argv[1]))
