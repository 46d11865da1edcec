"""Lead listing and lead page at volume (issue 3, item 8; issue 16): server time and queries through Django's test client.

``run(args)`` loads the dataset (``bench.loader``), signs in as an admin, a manager and an employee and
times the listing (default view; filtered by assignee and status; searched by an email fragment; sorted
by submission date; page 1 and page 500) and the lead page (the inspect view). The query counts are then compared with
the same requests on a 10k-lead database and with a larger page size: they must not change.
"""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.harness import DETAILED_HEADER, machine_line, measure, write_section
from bench.loader import ensure_dataset

QUICK_LEADS = 10_000
COMPARISON_LEADS = 10_000
PAGE_SIZES = (50, 100)
TARGET_LIST_MS = 200
TARGET_LEAD_PAGE_MS = 60


def listing_url():
    from crm.viewsets.leads import lead_viewset

    return reverse(lead_viewset.get_url_name("list"))


def inspect_url(pk):
    from crm.viewsets.leads import lead_viewset

    return reverse(lead_viewset.get_url_name("inspect"), args=[pk])


def people():
    from crm.models import User

    return {
        "admin": User.objects.get(username="bench-admin"),
        "manager": User.objects.get(username="gerente"),
        "employee": User.objects.get(username="ventas01"),
    }


def cases():
    """(name, role, path, query) of every measured request; the values are read from the dataset."""
    from crm.models import Lead, PipelineStatus

    users = people()
    quoted = PipelineStatus.objects.get(key="quoted")
    employee = users["employee"]
    sample = Lead.objects.filter(email__contains="@", assignee=employee).order_by("pk").first()
    fragment = sample.email.split("@")[0][-8:] if sample else "gonzalez"
    inspected = Lead.objects.filter(assignee=employee).order_by("-submitted_at", "-pk").first()
    listing = listing_url()
    rows = []
    for role in ("admin", "manager", "employee"):
        rows += [
            (f"listing, default ({role})", role, listing, {}),
            (
                f"listing, assignee + status ({role})",
                role,
                listing,
                {"assignee": employee.pk, "status": quoted.pk},
            ),
            (f"listing, email search “{fragment}” ({role})", role, listing, {"q": fragment}),
            (f"listing, sorted by submission ({role})", role, listing, {"ordering": "submitted_at"}),
            (f"listing, page 500 ({role})", role, listing, {"p": 500}),
            (f"lead page ({role})", role, inspect_url(inspected.pk), {}),
        ]
    return rows, users


def _request(client, path, query):
    def call():
        response = client.get(path, query)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {query} answered {response.status_code}")
        return response

    return call


def query_counts(page_size=None):
    """Queries of each case (one request each), optionally with another listing page size."""
    rows, users = cases()
    clients = {role: _client(user) for role, user in users.items()}
    restore = _set_page_size(page_size)
    try:
        counts = {}
        for name, role, path, query in rows:
            call = _request(clients[role], path, query)
            call()
            with CaptureQueriesContext(connection) as captured:
                call()
            counts[_case_key(name)] = len(captured.captured_queries)
        return counts
    finally:
        restore()


def _case_key(name):
    """The case name without the search fragment, which differs between datasets."""
    return name.split("“")[0] + name.split("”")[-1] if "“" in name else name


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _set_page_size(page_size):
    """Change the listing's page size for this process; returns the function that restores it."""
    from django.urls import resolve

    view = resolve(listing_url()).func
    initkwargs = getattr(view, "view_initkwargs", {})
    if page_size is None or "paginate_by" not in initkwargs:
        return lambda: None
    previous = initkwargs["paginate_by"]
    initkwargs["paginate_by"] = page_size
    return lambda: initkwargs.__setitem__("paginate_by", previous)


def comparison_counts(leads):
    """Query counts measured in a child process on a database holding ``leads`` leads."""
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}_{leads // 1000}k"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "intralog.settings.bench"}
    _create_database(f"{settings['NAME']}_{leads // 1000}k")
    result = subprocess.run(
        [sys.executable, "-m", "bench.leads", "--counts", str(leads)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _create_database(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')


def run(args):
    leads = QUICK_LEADS if args.quick else args.leads
    report = ensure_dataset(leads)
    print(report, flush=True)
    rows, users = cases()
    clients = {role: _client(user) for role, user in users.items()}
    runs = 10 if args.quick else 20
    load_before = os.getloadavg()[0]
    measurements = []
    for name, role, path, query in rows:
        measurement = measure(name, _request(clients[role], path, query), runs=runs, warmup=3)
        limit = TARGET_LEAD_PAGE_MS if name.startswith("lead page") else TARGET_LIST_MS
        measurement.note = "ok" if measurement.p95_ms <= limit else f"MISSES p95 ≤ {limit} ms"
        measurements.append(measurement)
        print(measurement.detailed_row(), flush=True)

    load_after = os.getloadavg()[0]
    counts = {_case_key(m.name): m.queries for m in measurements}
    bigger_pages = query_counts(page_size=PAGE_SIZES[1])
    small = comparison_counts(COMPARISON_LEADS) if leads != COMPARISON_LEADS else counts
    lines = [
        f"Machine: {machine_line()}  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · dataset: {leads:,} leads · {report}  ",
        f"Each case: 3 warm-up requests, then {runs} timed requests through Django's test client "
        "(server time, including template rendering), signed in with `force_login`.  ",
        f"Machine load (1-minute average) before / after the timed cases: {load_before:.1f} / {load_after:.1f} "
        f"on {os.cpu_count()} cores; wall times include waiting for a CPU, the Python CPU column does not.",
        "",
        DETAILED_HEADER,
        *[m.detailed_row() for m in measurements],
        "",
        f"### Query counts: {COMPARISON_LEADS:,} vs {leads:,} leads, page size {PAGE_SIZES[0]} vs {PAGE_SIZES[1]}",
        "",
        f"| case | {COMPARISON_LEADS // 1000}k leads | {leads:,} leads | {leads:,} leads, {PAGE_SIZES[1]} per page | same |",
        "|---|---|---|---|---|",
    ]
    for key, count in counts.items():
        same = small.get(key) == count == bigger_pages.get(key)
        lines.append(
            f"| {key} | {small.get(key)} | {count} | {bigger_pages.get(key)} | {'yes' if same else 'NO'} |"
        )
    write_section("leads", f"Leads at {leads:,}", "\n".join(lines))


def _counts_main():
    """Child process entry: load ``n`` leads here and print the query counts as JSON."""
    import django

    django.setup()
    n = int(sys.argv[2])
    started = time.perf_counter()
    ensure_dataset(n, stdout=sys.stderr)
    print(f"10k dataset ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    print(json.dumps(query_counts()))


if __name__ == "__main__" and sys.argv[1:2] == ["--counts"]:
    _counts_main()
