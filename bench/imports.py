"""Spreadsheet import benchmark: 100,000 rows (``--quick``: 5,000) of a messy CSV into PostgreSQL.

The file has what trade-show and phone lists hold: Spanish headings, Argentine phones in every form,
mixed-case emails (one row in 200 malformed), services by name, dd/mm/yyyy dates and UTM values. The run
goes as in production (upload kept, rows counted, the import job in batches through
``crm.intake.create_leads``), in this process: the time from "Import" to done, and the process's peak
resident memory, are the figures. Importing the file again (nothing created) and reverting are timed too.
"""

import csv
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from django.core.files import File

from bench.harness import machine_line, write_section

NAME = "Bench import"
TARGET_SECONDS = 120
TARGET_RSS_MB = 300
PHONES = (
    "011 4{0:03d}-{1:04d}",
    "(0351) 15 {0:03d}-{1:04d}",
    "+54 9 11 5{0:03d} {1:04d}",
    "15-4{0:03d}-{1:04d}",
    "+54 341 4{0:03d}{1:04d}",
    "11 6{0:03d} {1:04d}",
)
SERVICES = ("Almacenamiento", "Transporte", "Comercio exterior", "Otro servicio", "")


def _write_file(path: Path, rows: int) -> None:
    rng = random.Random(20)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=";")
        writer.writerow(
            [
                "Nombre y apellido",
                "Razón social",
                "Teléfono",
                "Email",
                "Me interesa el servicio",
                "Fecha",
                "utm_source",
                "utm_campaign",
                "Comentarios",
            ]
        )
        for index in range(rows):
            phone = rng.choice(PHONES).format(rng.randrange(1000), rng.randrange(10000))
            email = (
                f"Persona.{index}@Empresa{index % 977}.com.ar"
                if index % 200
                else f"persona{index}@sin-dominio"
            )
            writer.writerow(
                [
                    f"Persona Número {index}",
                    f"Empresa {index % 977} S.A.",
                    phone,
                    email,
                    rng.choice(SERVICES),
                    f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/2025",
                    rng.choice(("google", "expo", "")),
                    rng.choice(("feria-2025", "")),
                    "Pidió cotización en la feria" if index % 3 else "",
                ]
            )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu_seconds() -> float:
    """CPU seconds of this connection's PostgreSQL backend (a local server: read from /proc), or 0."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args) -> None:
    from crm.models import Brand, Lead, Role, Service, User
    from imports import services
    from imports.models import ImportRun

    rows = 5_000 if args.quick else 100_000
    load_before = _load()
    brand = Brand.objects.get(code="intralog")
    for name in ("Almacenamiento", "Transporte", "Comercio exterior"):
        Service.objects.get_or_create(brand=brand, name=name, defaults={"is_active": True})
    user, _created = User.objects.get_or_create(username="bench-importer", defaults={"role": Role.MANAGER})
    user.brands.set([brand])
    for old in ImportRun.objects.filter(created_by=user, state__in=["done", "failed"]):
        services.revert(old)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feria.csv"
        _write_file(path, rows)
        size_mb = path.stat().st_size / 1024 / 1024
        baseline = _peak_mb()
        cpu: list[float] = []

        def import_once():
            with path.open("rb") as file:
                started = time.monotonic()
                cpu[:] = [_cpu_seconds(), _server_cpu_seconds()]
                run_ = services.receive_file(user, brand, File(file, name="feria.csv"))
                services.start(run_, user, mode="create", send_alerts=False, remember=False)
                run_.refresh_from_db()
                cpu.extend([_cpu_seconds() - cpu[0], _server_cpu_seconds() - cpu[1]])
                return run_, time.monotonic() - started

        first, seconds = import_once()
        first_cpu, first_server_cpu = cpu[-2], cpu[-1]
        peak = _peak_mb()
        again, seconds_again = import_once()
        started = time.monotonic()
        reverted = services.revert(first)
        revert_seconds = time.monotonic() - started
    lines = [
        f"Machine: {machine_line()}; load average before: {load_before}, after: {_load()}",
        "",
        "| case | rows | seconds | rows/s | created | skipped | errors | note |",
        "|---|---|---|---|---|---|---|---|",
        f"| first import | {rows} | {seconds:.1f} | {rows / seconds:.0f} | {first.created_count} | {first.skipped_count} | {first.error_count} | {size_mb:.1f} MB CSV; state {first.state}; CPU: {first_cpu:.1f} s this process, {first_server_cpu:.1f} s its PostgreSQL backend |",
        f"| same file again | {rows} | {seconds_again:.1f} | {rows / seconds_again:.0f} | {again.created_count} | {again.skipped_count} | {again.error_count} | nothing created |",
        f"| revert of the first | {reverted.reverted_count} | {revert_seconds:.1f} | | | | | {reverted.kept_count} kept |",
        "",
        f"Peak resident memory of the process: {peak:.0f} MB (before the import: {baseline:.0f} MB); "
        f"targets: under {TARGET_SECONDS} s and {TARGET_RSS_MB} MB for 100,000 rows. "
        f"Leads left: {Lead.objects.filter(external_source=services.EXTERNAL_SOURCE).count()}.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.quick:
        write_section("imports", NAME, body)
