"""WordPress sync benchmark: 100,000 submissions (``--quick``: 5,000) from the fake site into PostgreSQL.

The sync runs in a child process (``manage.py wp_sync``) so its peak RSS can be read; the fake site runs
here and measures the time spent inside its handlers, which is subtracted from the sync time.
"""

import cProfile
import io
import os
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

from django.core.management import call_command
from django.db import connection

from bench.harness import machine_line, write_section

ROOT = Path(__file__).resolve().parent.parent
NAME = "Bench sync"
FORMS = {"3": "intralog", "4": "intralog", "5": "intralog", "7": "intrapal"}
TARGET_RATE = 2000
TARGET_RSS_MB = 300


def _database_url():
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return (
        f"postgres://{settings['USER'] or 'postgres'}{password}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def _reset(name):
    """Remove the named sources with their leads and the leads' log entries, then vacuum."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import CharField
    from django.db.models.functions import Cast
    from wagtail.models import ModelLogEntry

    from crm.models import Lead
    from wordpress.models import WordPressSource

    lead_type = ContentType.objects.get_for_model(Lead)
    for source in WordPressSource.objects.filter(name__startswith=name):
        leads = Lead.objects.filter(external_source=source.external_key)
        ModelLogEntry.objects.filter(
            content_type=lead_type,
            object_id__in=leads.annotate(text_id=Cast("pk", CharField())).values("text_id"),
        ).delete()
        leads.delete()
        source.delete()
    # What autovacuum would do after such a delete (this machine's PostgreSQL runs without it).
    with connection.cursor() as cursor:
        for table in (
            "wordpress_submission",
            "crm_lead",
            "crm_leadevent",
            "crm_taggedlead",
            "wagtailcore_modellogentry",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _make_source(site, name, forms=FORMS):
    from crm.models import Brand
    from wordpress.models import SourceForm, WordPressSource

    brands = {brand.code: brand for brand in Brand.objects.all()}
    source = WordPressSource.objects.create(
        name=name,
        slug=name.lower().replace(" ", "-"),
        shape="collection",
        url=site.collection_url,
        username=site.username,
        app_password=site.password,
        page_size=100,
    )
    for form_id, brand in forms.items():
        SourceForm.objects.create(source=source, form_id=form_id, brand=brands[brand])
    return source


# The worker and the form processes it forks are sampled every 0.1 s: their summed RSS (pages shared
# after the fork counted once per process, so an upper bound) and summed PSS (shared pages split
# between the processes that share them: the memory the sync really holds).
CHILD = """
import sys
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "wp_sync", *sys.argv[1:]])
"""


def _process_tree(pid):
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except OSError:
            continue
    return pids


def _memory_kb(pid):
    """(RSS, PSS) in kB of one process, or (0, 0) once it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            fields = dict(line.split(":", 1) for line in rollup if ":" in line and not line.startswith("0"))
    except OSError:
        return 0, 0
    return int(fields["Rss"].split()[0]), int(fields["Pss"].split()[0])


def _postgres_cpu():
    """CPU seconds used by the local PostgreSQL so far: its live processes plus the exited backends."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                name, rest = stat.read().split(") ", 1)
        except OSError:
            continue
        if not name.endswith("(postgres"):
            continue
        fields = rest.split()
        total += int(fields[11]) + int(fields[12])
        if fields[1] == "1":
            total += int(fields[13]) + int(fields[14])
    return total / ticks


def _child_sync(site, full=False):
    """Run ``wp_sync`` in a child process.

    Returns (sync s, server s, run, peak RSS MB, peak PSS MB, wall s, (worker CPU s, PostgreSQL CPU s)).
    """
    from wordpress.models import SyncRun

    env = dict(os.environ, DATABASE_URL=_database_url(), DJANGO_SETTINGS_MODULE="intralog.settings.bench")
    command = [sys.executable, "-c", CHILD, NAME] + (["--full"] if full else [])
    server_before = site.server_seconds
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    postgres_before = _postgres_cpu()
    started = time.perf_counter()
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak_rss = peak_pss = 0
    while worker.poll() is None:
        sizes = [_memory_kb(pid) for pid in _process_tree(worker.pid)]
        peak_rss = max(peak_rss, sum(rss for rss, _pss in sizes))
        peak_pss = max(peak_pss, sum(pss for _rss, pss in sizes))
        time.sleep(0.1)
    stdout, stderr = worker.communicate()
    wall = time.perf_counter() - started
    if worker.returncode:
        raise SystemExit(f"wp_sync failed:\n{stdout}\n{stderr}")
    run = SyncRun.objects.filter(source__name=NAME).order_by("-pk").first()
    seconds = (run.finished_at - run.started_at).total_seconds()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    cpu = (cpu, _postgres_cpu() - postgres_before)
    return seconds, site.server_seconds - server_before, run, peak_rss / 1024, peak_pss / 1024, wall, cpu


def _profile_sample(site):
    """Profile the sync of the 1,000-submission form 9 in-process: queries per lead, time, query kinds, profile."""
    from wordpress.sync import sync_source

    _reset("Profile sample")
    source = _make_source(site, "Profile sample", {"9": "intralog"})
    profiler = cProfile.Profile()
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        profiler.enable()
        started = time.perf_counter()
        run = sync_source(source)
        elapsed = time.perf_counter() - started
        profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(
        r"crm/|wordpress/|wagtail/(log_actions|signal_handlers|tasks)|taggit|django_tasks", 28
    )
    per_lead = len(statements) / max(1, run.created)
    kinds = {}
    for sql in statements:
        sql = sql.lstrip()
        verb = sql.split(" ", 1)[0].upper()
        table = ""
        for marker in (" INTO ", " FROM ", "UPDATE "):
            if marker in sql.upper():
                rest = sql[sql.upper().index(marker) + len(marker) :].split()[0]
                table = rest.strip('"')
                break
        key = f"{verb} {table}"
        kinds[key] = kinds.get(key, 0) + 1
    _reset("Profile sample")
    return per_lead, elapsed, run.created, kinds, stream.getvalue()


def _use_own_database():
    """Sync into ``<bench database>_sync``: 100,000 more leads would spoil the 1M-lead dataset of the others."""
    name = f"{connection.settings_dict['NAME']}_sync"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    connection.settings_dict["NAME"] = name


def run(args):
    from wordpress.fake import FakeWordPress
    from wordpress.sync import sync_processes

    total = 5_000 if args.quick else 100_000
    _use_own_database()
    call_command("migrate", verbosity=0, interactive=False)
    _reset(NAME)
    per_form = total // len(FORMS)
    site = FakeWordPress(forms=dict.fromkeys(FORMS, per_form) | {"9": 1000}, seed=42)
    site.start()
    try:
        _make_source(site, NAME)
        os.environ.pop("REDIS_URL", None)
        load_before = os.getloadavg()[0]
        first_seconds, first_server, first_run, rss_mb, pss_mb, first_wall, first_cpu = _child_sync(site)
        load_after = os.getloadavg()[0]
        second_seconds, second_server, second_run, *_rest = _child_sync(site)
        full_seconds, full_server, full_run, *_rest = _child_sync(site, full=True)
        per_lead, sample_seconds, sample_created, kinds, profile = _profile_sample(site)
    finally:
        site.stop()

    created = first_run.created
    sync_only = max(1e-6, first_seconds - first_server)
    rate = created / sync_only
    second_only = max(0.0, second_seconds - second_server)
    full_only = max(0.0, full_seconds - full_server)
    top_queries = sorted(kinds.items(), key=lambda item: -item[1])[:14]
    query_rows = "\n".join(
        f"| `{kind}` | {count / max(1, sample_created):.2f} |" for kind, count in top_queries
    )
    verdict = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    body = f"""
{machine_line()}

{total:,} generated submissions (forms 3, 4, 5, 7; collection shape, keyset pages of 100) synced by
`manage.py wp_sync` in a child process into PostgreSQL; time inside the fake site's handlers is subtracted.
The four forms sync at once in {sync_processes(len(FORMS))} processes (`WORDPRESS_SYNC_PROCESSES`, default one per core): the worker
and the helpers it forks each claim the next form.

| measure | value | target |
|---|---|---|
| leads created by the first sync | {created:,} (fetched {first_run.fetched:,}, quarantined {first_run.quarantined}) | all |
| first sync, sync time (run start→end) | {first_seconds:.1f} s (child wall {first_wall:.1f} s) | |
| time inside the fake site (excluded) | {first_server:.1f} s | |
| **throughput** | **{rate:,.0f} leads/s** | ≥ {TARGET_RATE:,} leads/s: {verdict(rate >= TARGET_RATE)} |
| throughput on the run's own clock (fake-site time not subtracted; the next page is fetched while one is written) | {created / max(first_seconds, 1e-6):,.0f} leads/s | |
| worker CPU time (user+system, form processes included) | {first_cpu[0]:.1f} s = {1000 * first_cpu[0] / max(created, 1):.2f} ms per lead | |
| PostgreSQL CPU time (all its processes) | {first_cpu[1]:.1f} s = {1000 * first_cpu[1] / max(created, 1):.2f} ms per lead | |
| CPU per lead, worker and PostgreSQL together → the most {os.cpu_count()} cores could sync | {1000 * sum(first_cpu) / max(created, 1):.2f} ms → {os.cpu_count() * created / max(sum(first_cpu), 1e-6):,.0f} leads/s | |
| machine load (1-min average) before / after | {load_before:.1f} / {load_after:.1f} on {os.cpu_count()} cores | |
| **worker peak memory: summed RSS of the worker and its form processes** | **{rss_mb:.0f} MB** (summed PSS {pss_mb:.0f} MB) | ≤ {TARGET_RSS_MB} MB: {verdict(rss_mb <= TARGET_RSS_MB)} |
| second sync (incremental) | {second_only:.2f} s, created {second_run.created}, updated {second_run.updated} ({100 * second_only / sync_only:.1f}% of first) | ≤ 10%: {verdict(second_only <= 0.1 * sync_only and not second_run.created and not second_run.updated)} |
| second sync `--full` (re-reads all {full_run.fetched:,}) | {full_only:.1f} s, created {full_run.created}, updated {full_run.updated}, duplicates {full_run.duplicates:,} ({100 * full_only / sync_only:.1f}% of first) | ≤ 10%: {verdict(full_only <= 0.1 * sync_only and not full_run.created and not full_run.updated)} |

### Where the time goes (profiled sample of {sample_created} leads, in-process)

{sample_created} leads in {sample_seconds:.1f} s under cProfile; **{per_lead:.2f} queries per lead** (`COPY` statements are
not counted). Each page of 100 is one transaction: raw submissions, then `crm.services.create_leads` for the page's new
records (classification, duplicates, assignment, events, Wagtail log entries, tags, in a few queries and `COPY`s per
page, one `lead_events_recorded` signal), then submission states and the cursor. The next page is fetched and mapped
in a thread meanwhile.

| query (per created lead) | count |
|---|---|
{query_rows}

```
{profile.strip()[:6000]}
```
"""
    write_section("sync", "WordPress sync", body)
    print(body)
