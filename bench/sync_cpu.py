"""CPU per lead of a first sync of messy submissions, counted as CPU time (whatever else loads the machine).

One process, one form: the pages are read from the fake site first (its threads then stay idle), then
mapped (``wordpress.store.map_page``) and stored (``store_page``) as ``wordpress.sync`` does, with its
growth statistics and garbage collector thresholds. Printed as JSON: this thread's CPU per lead for reading (HTTP and JSON), mapping and
storing, and the CPU of the PostgreSQL backend serving it while storing (``/proc/<pid>/schedstat``).
``--queries`` also prints the backend's CPU per kind of statement (``COPY`` per table, commits).

    DATABASE_URL=postgres://.../<scratch> DJANGO_SETTINGS_MODULE=intralog.settings.bench \\
        python -m bench.sync_cpu [--leads 10000] [--form 3] [--profile out.prof] [--queries]

The database must be migrated and hold no lead of the benchmark's source: use a fresh copy per run
(``createdb -T <migrated database> <copy>``). ``--profile`` writes a cProfile (CPU time) of mapping
and storing.
"""

import argparse
import cProfile
import json
import time
from collections import defaultdict
from contextlib import contextmanager


class Backend:
    """CPU nanoseconds of one PostgreSQL backend (its ``schedstat``), in total and per statement kind."""

    def __init__(self, pid):
        self.path = f"/proc/{pid}/schedstat"
        self.kinds = defaultdict(lambda: [0, 0])

    def now(self):
        with open(self.path) as schedstat:
            return int(schedstat.read().split()[0])

    @contextmanager
    def counting(self, kind):
        begun = self.now()
        try:
            yield
        finally:
            entry = self.kinds[kind]
            entry[0] += 1
            entry[1] += self.now() - begun

    def wrapper(self, execute, sql, params, many, context):
        with self.counting(" ".join(sql.split()[:5])[:80]):
            return execute(sql, params, many, context)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--form", default="3")
    parser.add_argument("--profile")
    parser.add_argument("--queries", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from bench.sync import _make_source
    from core import bulk
    from core.allocation import fewer_collections
    from crm import intake
    from crm.models import Lead
    from wordpress.connectors import connector_for
    from wordpress.fake import FakeWordPress
    from wordpress.mapping import FormContext
    from wordpress.models import SourceForm
    from wordpress.statistics import GrowthStatistics
    from wordpress.store import map_page, store_page

    site = FakeWordPress(forms={args.form: args.leads}, seed=42, messy=True)
    site.start()
    try:
        source = _make_source(
            site, "Bench sync cpu", {args.form: "intrapal" if args.form == "7" else "intralog"}
        )
        started = time.thread_time()
        with fewer_collections():
            pages = list(connector_for(source).fetch_new(args.form, 0))
        read = time.thread_time() - started
    finally:
        site.stop()
    form = SourceForm.objects.select_related("brand", "default_service").get(source=source)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = Backend(cursor.fetchone()[0])
    if args.queries:
        copy, commit = bulk._copy, connection.commit

        def counted_copy(plan, *rest, **named):
            with backend.counting(f"COPY {plan.meta.db_table}"):
                return copy(plan, *rest, **named)

        def counted_commit():
            with backend.counting("COMMIT"):
                return commit()

        bulk._copy, connection.commit = counted_copy, counted_commit

    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    if profiler:
        profiler.enable()
    started = time.thread_time()
    context = FormContext(source, form)
    with fewer_collections():
        mapped = [map_page(page, context, 0) for page in pages]
    mapping = time.thread_time() - started

    statistics = GrowthStatistics(source, form)
    lookups = intake.NewLeadLookups(max_age=10)
    postgres = backend.now()
    started = time.thread_time()
    with connection.execute_wrapper(backend.wrapper) if args.queries else _nothing(), fewer_collections():
        for page, page_mapped in zip(pages, mapped, strict=True):
            stored = store_page(source, form, page, mapped=page_mapped, lookups=lookups)
            statistics.note(stored["created"] + stored["quarantined"])
    storing = time.thread_time() - started
    postgres = (backend.now() - postgres) / 1e9
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    created = Lead.objects.filter(external_source=source.external_key).count()
    if args.queries:
        for kind, (count, nanoseconds) in sorted(backend.kinds.items(), key=lambda item: -item[1][1])[:20]:
            print(f"{nanoseconds / 1e3 / created:7.1f} µs/lead {count:6} {kind}")
    per_lead = lambda seconds: round(1000 * seconds / max(created, 1), 4)  # noqa: E731
    figures = {
        "leads": created,
        "read_ms": per_lead(read),
        "map_ms": per_lead(mapping),
        "store_ms": per_lead(storing),
        "worker_ms": per_lead(read + mapping + storing),
        "postgres_ms": per_lead(postgres),
    }
    print(json.dumps(figures))


@contextmanager
def _nothing():
    yield


if __name__ == "__main__":
    main()
