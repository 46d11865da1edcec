"""The API's extraction at volume (issue 22): a full walk of every lead through ``GET /api/v1/leads``
with keyset cursors, as an admin's token, at two page sizes; then sample pages as a manager and an
employee (their row-level rules in the query), and the events. Through Django's test client, so the
time is the server's (routing, token, query, JSON) plus the client's reading of each page.

Targets: a full extraction at ≥ 5,000 rows/s, and a page's p95 ≤ 100 ms.
"""

import json
import os
import statistics
import time
from datetime import UTC, datetime

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.harness import machine_line, percentile, write_section
from bench.loader import ensure_dataset

QUICK_LEADS = 10_000
PAGE_SIZES = (5000, 1000)
TARGET_ROWS_PER_SECOND = 5000
TARGET_PAGE_P95_MS = 100
SAMPLE_PAGES = 30


def _client(user):
    from api import tokens

    _token, plaintext = tokens.issue(user, "benchmark", 1)
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


def _walk(client, path, limit, max_pages=None, **params):
    """Follow the cursors to the end (or ``max_pages``): rows, pages' server times (ms), total seconds."""
    rows, times, cursor = 0, [], None
    started = time.perf_counter()
    while max_pages is None or len(times) < max_pages:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        mark = time.perf_counter()
        response = client.get(path, query)
        times.append((time.perf_counter() - mark) * 1000)
        assert response.status_code == 200, response.content[:300]
        page = json.loads(response.content)
        rows += len(page["results"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    return rows, times, time.perf_counter() - started, cursor


def _queries(client, path, limit, cursor):
    with CaptureQueriesContext(connection) as captured:
        client.get(path, {"limit": limit, **({"cursor": cursor} if cursor else {})})
    return len(captured.captured_queries)


def _row(name, rows, times, seconds, queries):
    rate = rows / seconds if seconds else 0
    p95 = percentile(times, 95)
    verdict = []
    if rate < TARGET_ROWS_PER_SECOND:
        verdict.append(f"MISSES ≥ {TARGET_ROWS_PER_SECOND:,} rows/s")
    if p95 > TARGET_PAGE_P95_MS:
        verdict.append(f"MISSES p95 ≤ {TARGET_PAGE_P95_MS} ms")
    return (
        f"| {name} | {len(times):,} | {rows:,} | {seconds:.1f} | {rate:,.0f} | {statistics.median(times):.1f} "
        f"| {p95:.1f} | {queries} | {'; '.join(verdict) or 'ok'} |"
    )


def run(args):
    from django.conf import settings

    from crm.models import User

    leads = QUICK_LEADS if args.quick else args.leads
    report = ensure_dataset(leads)
    print(report, flush=True)
    settings.API_RATE_PER_MINUTE = 10**9  # the benchmark measures the extraction, not the rate limit
    users = {
        "admin": User.objects.get(username="bench-admin"),
        "manager": User.objects.get(username="gerente"),
        "employee": User.objects.get(username="ventas01"),
    }
    clients = {role: _client(user) for role, user in users.items()}
    load_before = os.getloadavg()[0]
    lines = []
    for size, pages in zip(PAGE_SIZES, (None, 100), strict=True):
        _walk(clients["admin"], "/api/v1/leads", size, max_pages=3)
        rows, times, seconds, _cursor = _walk(clients["admin"], "/api/v1/leads", size, max_pages=pages)
        queries = _queries(clients["admin"], "/api/v1/leads", size, None)
        what = "full extraction" if pages is None else f"first {pages} pages"
        lines.append(_row(f"{what}, {size:,} a page (admin)", rows, times, seconds, queries))
        print(lines[-1], flush=True)
    for role in ("manager", "employee"):
        rows, times, seconds, cursor = _walk(clients[role], "/api/v1/leads", 1000, max_pages=SAMPLE_PAGES)
        queries = _queries(clients[role], "/api/v1/leads", 1000, cursor)
        lines.append(_row(f"first {SAMPLE_PAGES} pages of 1,000 ({role})", rows, times, seconds, queries))
        print(lines[-1], flush=True)
    rows, times, seconds, cursor = _walk(
        clients["manager"], "/api/v1/leads", 1000, max_pages=SAMPLE_PAGES, stage="active"
    )
    lines.append(
        _row(f"first {SAMPLE_PAGES} pages of 1,000, stage=active (manager)", rows, times, seconds, "-")
    )
    print(lines[-1], flush=True)
    rows, times, seconds, cursor = _walk(clients["admin"], "/api/v1/events", 5000, max_pages=SAMPLE_PAGES)
    queries = _queries(clients["admin"], "/api/v1/events", 5000, cursor)
    lines.append(_row(f"events, first {SAMPLE_PAGES} pages of 5,000 (admin)", rows, times, seconds, queries))
    print(lines[-1], flush=True)
    load_after = os.getloadavg()[0]
    body = [
        f"Machine: {machine_line()}  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · dataset: {leads:,} leads · {report}  ",
        "Each case follows `next_cursor` from the start through Django's test client with a personal token; "
        "the page time is the server's answer, the rate counts the client reading each page too.  ",
        f"Machine load (1-minute average) before / after: {load_before:.1f} / {load_after:.1f} on "
        f"{os.cpu_count()} cores.  ",
        f"Targets: a full extraction at ≥ {TARGET_ROWS_PER_SECOND:,} rows/s; a page's p95 ≤ "
        f"{TARGET_PAGE_P95_MS} ms.",
        "",
        "| case | pages | rows | seconds | rows/s | median page ms | p95 page ms | queries a page | note |",
        "|---|---|---|---|---|---|---|---|---|",
        *lines,
    ]
    write_section("api", f"API extraction at {leads:,}", "\n".join(body))
