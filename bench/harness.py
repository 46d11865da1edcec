"""Shared measuring tools for the benchmarks: timings (median, p95), query counts, RESULTS.md sections."""

import os
import platform
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def create_database(url, fresh=False):
    """Create the PostgreSQL database ``url`` names unless it exists; ``fresh``: drop it first."""
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if fresh:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        elif admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(url):
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sibling_url(name):
    """The URL of the database ``name`` on the server of Django's default connection."""
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{name}"


@dataclass
class Measurement:
    name: str
    runs: int
    median_ms: float
    p95_ms: float
    queries: int
    note: str = ""
    cpu_median_ms: float = 0.0
    sql_median_ms: float = 0.0

    def row(self):
        return f"| {self.name} | {self.runs} | {self.median_ms:.1f} | {self.p95_ms:.1f} | {self.queries} | {self.note} |"

    def detailed_row(self):
        return (
            f"| {self.name} | {self.runs} | {self.median_ms:.1f} | {self.p95_ms:.1f} | {self.cpu_median_ms:.1f} "
            f"| {self.sql_median_ms:.1f} | {self.queries} | {self.note} |"
        )


TABLE_HEADER = "| case | runs | median ms | p95 ms | queries | note |\n|---|---|---|---|---|---|"
DETAILED_HEADER = (
    "| case | runs | median ms | p95 ms | Python CPU median ms | SQL wait median ms | queries | note |\n"
    "|---|---|---|---|---|---|---|---|"
)


class _SqlTimer:
    """A ``connection.execute_wrapper`` that adds up the wall time spent in queries."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start


def signed_in_client(user):
    """A test client signed in as ``user`` as a complete sign-in leaves it: ``force_login`` plus the second
    factor where the role requires one (an authenticator is made for the person if they have none), so the
    pages are measured, not the redirect to the code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from crm import two_factor

    client = Client()
    client.force_login(user)
    if two_factor.is_required(user) or two_factor.has_second_factor(user):
        device = two_factor.authenticator(user) or TOTPDevice.objects.create(
            user=user, name="Benchmark", confirmed=True
        )
        session = client.session
        two_factor.verify_session(session, device)
        session.save()
    return client


def percentile(values, pct):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * pct / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def measure(name, func, runs=30, warmup=3, note=""):
    """Call ``func`` ``warmup`` + ``runs`` times; report server-side wall time and the queries of one call.

    Also the median Python CPU time of the calling process and the median wall time spent waiting on
    queries, which tell a slow page from a busy machine.
    """
    for _ in range(warmup):
        func()
    with CaptureQueriesContext(connection) as captured:
        func()
    queries = len(captured.captured_queries)
    timings, cpu, sql = [], [], []
    for _ in range(runs):
        reset_queries()
        timer = _SqlTimer()
        with connection.execute_wrapper(timer):
            start, start_cpu = time.perf_counter(), time.process_time()
            func()
            timings.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        sql.append(timer.seconds * 1000)
    return Measurement(
        name,
        runs,
        statistics.median(timings),
        percentile(timings, 95),
        queries,
        note,
        cpu_median_ms=statistics.median(cpu),
        sql_median_ms=statistics.median(sql),
    )


def combine_rounds(rounds):
    """One measurement of a case measured in several rounds: the median of the rounds' medians, p95s,
    CPU and SQL times; the note lists each round's p95 so a round slowed by other work shows."""
    if len(rounds) == 1:
        return rounds[0]
    first = rounds[0]
    return Measurement(
        first.name,
        sum(m.runs for m in rounds),
        statistics.median(m.median_ms for m in rounds),
        statistics.median(m.p95_ms for m in rounds),
        max(m.queries for m in rounds),
        "p95 per round: " + " / ".join(f"{m.p95_ms:.0f}" for m in rounds),
        cpu_median_ms=statistics.median(m.cpu_median_ms for m in rounds),
        sql_median_ms=statistics.median(m.sql_median_ms for m in rounds),
    )


def machine_line():
    return (
        f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {connection.vendor} {connection.pg_version if connection.vendor == 'postgresql' else ''}"
    )


def write_section(key, title, body):
    """Replace (or append) the section ``key`` of RESULTS.md, leaving the others as they are."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nProduced by `make bench`.\n"
    section = f"{start}\n## {title}\n\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _m: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section + "\n"
    )
    RESULTS.write_text(text)
