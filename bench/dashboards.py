"""Dashboard pages at volume: each page with no filter and with three filters, as an admin and a manager.

``python -m bench dashboards`` (``make bench``); writes the "dashboards" section of RESULTS.md.
``BENCH_DASHBOARD_PAGES=revenue,team python -m bench dashboards`` measures those pages only and prints
them (RESULTS.md is left alone). Money (quotes, wins, exchange rates) is added to a loaded dataset by
``bench.loader.ensure_money`` first.
"""

import os
import time
from datetime import UTC, datetime

from django.urls import reverse

from bench.harness import (
    DETAILED_HEADER,
    combine_rounds,
    machine_line,
    measure,
    signed_in_client,
    write_section,
)
from bench.loader import ensure_dataset, ensure_money

TARGET_MS = 300
TARGET_QUERIES = 15
QUICK_LEADS = 20_000
PAGES = ["overview", "pipeline", "revenue", "team", "campaigns"]
MONEY_PAGES = ["revenue", "team", "campaigns"]


def three_filters():
    """Brand, source and stage: the combination a manager uses most."""
    from crm.models import Brand, Source

    brand = Brand.objects.get(code="intralog")
    source = Source.objects.get(key="web_form")
    return f"brand={brand.pk}&source={source.pk}&status=stage:open"


def cases():
    from crm.models import User

    admin = User.objects.get(username="bench-admin")
    manager = User.objects.get(username="gerente.intralog")
    filtered = three_filters()
    rows = []
    for page in PAGES:
        rows.append((f"{page} · admin · no filter (last 30 days)", admin, page, ""))
        rows.append((f"{page} · admin · brand + source + stage", admin, page, filtered))
        rows.append((f"{page} · manager (one brand) · no filter", manager, page, ""))
        rows.append(
            (f"{page} · admin · no filter, compared with the previous period", admin, page, "compare=on")
        )
        if page in MONEY_PAGES:
            rows.append((f"{page} · admin · in US dollars, compared", admin, page, "compare=on&currency=USD"))
    return rows


def page_path(page, query):
    path = reverse(f"dashboards:{page}")
    return f"{path}?{query}" if query else path


def _request(client, path):
    def call():
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")

    return call


def _load(values):
    return " ".join(f"{value:.1f}" for value in values)


def ensure_rollup():
    """Rebuild the team rollup when the dataset was loaded without it (``bench.loader`` now builds it)."""
    from django.db import connection

    from dashboards.models import PersonDay
    from dashboards.rollup import rebuild

    if PersonDay.objects.exists():
        return "rollup present"
    started = time.perf_counter()
    rebuild()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) dashboards_personday")
        cursor.execute("VACUUM (ANALYZE) dashboards_personbrandday")
    return f"rollup rebuilt in {time.perf_counter() - started:.0f} s"


def measure_cases(cases_, runs, rounds, target_ms, target_queries):
    """Measure every ``(name, user, path)`` case ``rounds`` times (each round goes through all cases,
    so a spell of load elsewhere on the machine spreads over them) and combine the rounds per case."""
    clients, measured = {}, {}
    for _round in range(rounds):
        for name, user, path in cases_:
            if user.pk not in clients:
                clients[user.pk] = signed_in_client(user)
            measured.setdefault(name, []).append(
                measure(name, _request(clients[user.pk], path), runs=runs, warmup=3)
            )
    measurements = []
    for name, _user, _path in cases_:
        measurement = combine_rounds(measured[name])
        misses = []
        if measurement.p95_ms > target_ms:
            misses.append(f"MISSES p95 ≤ {target_ms} ms")
        if measurement.queries > target_queries:
            misses.append(f"MISSES ≤ {target_queries} queries")
        verdict = "; ".join(misses) or "ok"
        measurement.note = f"{verdict}; {measurement.note}" if rounds > 1 else verdict
        measurements.append(measurement)
        print(measurement.detailed_row(), flush=True)
    return measurements


def run(args):
    leads = QUICK_LEADS if args.quick else args.leads
    report = ensure_dataset(leads)
    print(report, flush=True)
    print(ensure_rollup(), flush=True)
    ensure_money()
    only = os.environ.get("BENCH_DASHBOARD_PAGES", "")
    runs = 10 if args.quick else getattr(args, "dashboard_runs", 10)
    rounds = max(1, getattr(args, "rounds", 1))
    load_before = os.getloadavg()
    measurements = measure_cases(
        [
            (name, user, page_path(page, query))
            for name, user, page, query in cases()
            if not only or page in only.split(",")
        ],
        runs,
        rounds,
        TARGET_MS,
        TARGET_QUERIES,
    )
    load_after = os.getloadavg()
    lines = [
        f"Machine: {machine_line()}  ",
        f"Load average (1/5/15 min) before / after the timed cases: {_load(load_before)} / {_load(load_after)} "
        f"on {os.cpu_count()} cores; wall times include waiting for a CPU.  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · dataset: {leads:,} leads · {report}  ",
        f"Each case: 3 warm-up requests, then {runs} timed requests through Django's test client "
        "(server time, including the Wagtail admin frame and template rendering), signed in with "
        f"`force_login` and the second factor{_rounds_text(rounds)}. Targets: p95 ≤ {TARGET_MS} ms and ≤ {TARGET_QUERIES} queries "
        "per page. Three filters = brand INTRALOG + source web form + stage open; no filter = the default "
        "period, the last 30 days; compared = the same with the previous 30 days alongside (twice the rows). "
        "Python CPU: the benchmark process's CPU time per request (Django, Wagtail, templates); SQL wait: wall "
        "time spent waiting on PostgreSQL, which includes waiting for a CPU when the machine is busy.",
        "",
        "How: the team page reads the per-person daily rollup `dashboards_personday` (kept by the event "
        "receivers; `bench.loader` rebuilds it after its COPY, about 30 s for 7M events) instead of the raw "
        "events, or its sums per day, person and brand `dashboards_personbrandday` when no filter names a "
        "service, source, campaign or status; its lead figures read the period's leads assignee by assignee "
        "from an (assignee, submission time) covering index, so the percentiles need no sort first; campaign counts come from one grouping by every dimension, medians from the won leads; the "
        "funnel reads only status changes into a won, new, lost or junk status; covering indexes on PostgreSQL "
        "(`dashboards` migrations 0003-0011). Comparing reads both periods in one range scan: the overview's counts "
        "and chart from one query grouped by segment of time (the window cut where a period, a bucket, today or "
        "this week starts), the pipeline's statuses read status by status from a (status, submission time) "
        "index (no sort before the percentiles), its funnel lead by lead (the leads of the statuses in question "
        "with such a status change), campaign counts grouped by whether a lead is of the period. Money "
        "(`bench.loader.ensure_money`: quotes, wins, a year of daily rates with a day in 37 missing): each "
        "money figure is one query whose rows are joined to the rate of their day (a hash join on the small "
        "rate table), the won amounts read from covering indexes of the won leads (by submission time and by "
        "day won); the open pipeline reads the open quoted leads of the period.",
        "",
        DETAILED_HEADER,
        *[m.detailed_row() for m in measurements],
    ]
    if only:  # a subset of the pages (BENCH_DASHBOARD_PAGES=revenue,team): printed, RESULTS.md left alone
        return
    write_section("dashboards", f"Dashboards at {leads:,} leads", "\n".join(lines))


def _rounds_text(rounds):
    if rounds == 1:
        return ""
    return (
        f"; every case measured in {rounds} rounds (each round runs all the cases in turn) and reported as "
        "the median of the rounds' medians and p95s, each round's p95 in the note"
    )
