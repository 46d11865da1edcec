"""WordPress sync benchmark: 100,000 messy submissions (``--quick``: 5,000) from the fake site into PostgreSQL.

The fake site serves what real sites hold (``FakeWordPress(messy=True)``) and answers as a remote site
does: each page takes ``SITE_LATENCY`` plus ``SITE_ITEM_LATENCY`` per submission, slept in its handler
threads (a remote server's time, not this machine's CPU). Each round reads every page of every form as
the sync does, with nothing stored (the same connector and HTTP client, page size and processes), syncs
them (``manage.py wp_sync`` in a child process, so its peak RSS can be read), and reads them again: the
sync's speed as a share of the bare read's, in the same round, is the figure that counts.
"""

import cProfile
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.core.management import call_command
from django.db import connection

from bench.cpu import ProcessCpu, postgres_backends
from bench.harness import create_database, machine_line, sibling_url, write_section

ROOT = Path(__file__).resolve().parent.parent
NAME = "Bench sync"
FORMS = {"3": "intralog", "4": "intralog", "5": "intralog", "7": "intrapal"}
TARGET_RATIO = 0.9
TARGET_RSS_MB = 300
# A WordPress answering a page of 100 submissions in 0.1 s (PHP boot and a query, then a millisecond
# per submission's fields and JSON), to as many requests at once as the sync makes.
SITE_LATENCY = 0.05
SITE_ITEM_LATENCY = 0.0005


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


def _child_sync(site, full=False):
    """Run ``wp_sync`` in a child process.

    Returns (sync s, server s, run, peak RSS MB, peak PSS MB, wall s, (worker CPU s, PostgreSQL CPU s)).
    """
    from wordpress.models import SyncRun

    env = dict(os.environ, DATABASE_URL=_database_url(), DJANGO_SETTINGS_MODULE="intralog.settings.bench")
    command = [sys.executable, "-c", CHILD, NAME] + (["--full"] if full else [])
    server_before = site.server_seconds
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    postgres = ProcessCpu(postgres_backends(connection.settings_dict["NAME"]))
    started = time.perf_counter()
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak_rss = peak_pss = 0
    while worker.poll() is None:
        sizes = [_memory_kb(pid) for pid in _process_tree(worker.pid)]
        peak_rss = max(peak_rss, sum(rss for rss, _pss in sizes))
        peak_pss = max(peak_pss, sum(pss for _rss, pss in sizes))
        postgres.sample()
        time.sleep(0.1)
    stdout, stderr = worker.communicate()
    wall = time.perf_counter() - started
    if worker.returncode:
        raise SystemExit(f"wp_sync failed:\n{stdout}\n{stderr}")
    run = SyncRun.objects.filter(source__name=NAME).order_by("-pk").first()
    seconds = (run.finished_at - run.started_at).total_seconds()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    cpu = (cpu, postgres.seconds().get("postgres", 0.0))
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
    create_database(sibling_url(name))
    connection.close()
    connection.settings_dict["NAME"] = name


READ_CHILD = """
import sys
import django
django.setup()
from bench.sync import read_source
read_source(sys.argv[1])
"""


def read_source(name):
    """Read every page of the source's forms as its first sync would, storing nothing; print the figures.

    Same connector, HTTP client and page size, and the same parallelism: this process and forked
    helpers (``sync_processes``) each claim the next form, as ``wordpress.sync`` does.
    """
    import multiprocessing

    from django.db import connections

    from wordpress.connectors import connector_for
    from wordpress.models import WordPressSource
    from wordpress.sync import sync_processes

    source = WordPressSource.objects.get(name=name)
    forms = list(source.forms.order_by("form_id").values_list("form_id", flat=True))
    context = multiprocessing.get_context("fork")
    claimed, records, pages = context.Value("i", 0), context.Value("i", 0), context.Value("i", 0)
    connections.close_all()

    def read():
        connector = connector_for(source)
        while True:
            with claimed.get_lock():
                index = claimed.value
                claimed.value += 1
            if index >= len(forms):
                return
            for page in connector.fetch_new(forms[index], 0):
                with records.get_lock():
                    records.value += len(page)
                    pages.value += 1

    started = time.perf_counter()
    helpers = [context.Process(target=read) for _ in range(sync_processes(len(forms)) - 1)]
    for helper in helpers:
        helper.start()
    read()
    for helper in helpers:
        helper.join()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "records": records.value, "pages": pages.value}))


def _child_read(site):
    """``(seconds, records)`` of a bare read of the bench source in a child process."""
    env = dict(os.environ, DATABASE_URL=_database_url(), DJANGO_SETTINGS_MODULE="intralog.settings.bench")
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", READ_CHILD, NAME],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"bare read failed:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return figures["seconds"], figures["records"]


def _round(site):
    """Bare read, first sync, bare read again (the read's mean is compared with the sync)."""
    _reset(NAME)
    _make_source(site, NAME)
    read_before, records = _child_read(site)
    load_before = os.getloadavg()[0]
    sync_seconds, _server, run, rss_mb, pss_mb, wall, cpu = _child_sync(site)
    load_after = os.getloadavg()[0]
    read_after, _records = _child_read(site)
    read_mean = (read_before + read_after) / 2
    return {
        "records": records,
        "read": (read_before, read_after),
        "sync": sync_seconds,
        "wall": wall,
        "ratio": read_mean / sync_seconds,
        "run": run,
        "rss": rss_mb,
        "pss": pss_mb,
        "cpu": cpu,
        "load": (load_before, load_after),
    }


def run(args):
    from wordpress.fake import FakeWordPress
    from wordpress.sync import sync_processes

    total = 5_000 if args.quick else 100_000
    rounds = 1 if args.quick else int(os.environ.get("SYNC_BENCH_ROUNDS", "3"))
    _use_own_database()
    call_command("migrate", verbosity=0, interactive=False)
    per_form = total // len(FORMS)
    generated = time.perf_counter()
    site = FakeWordPress(
        forms=dict.fromkeys(FORMS, per_form) | {"9": 1000},
        seed=42,
        messy=True,
        latency=SITE_LATENCY,
        item_latency=SITE_ITEM_LATENCY,
    )
    generated = time.perf_counter() - generated
    site.start()
    try:
        results = []
        for number in range(rounds):
            results.append(_round(site))
            print(f"round {number + 1}: ratio {results[-1]['ratio']:.2f}", flush=True)
        site.latency = site.item_latency = 0.0
        second_seconds, _server, second_run, *_rest = _child_sync(site)
        full_seconds, _server, full_run, *_rest = _child_sync(site, full=True)
        per_lead, sample_seconds, sample_created, kinds, profile = _profile_sample(site)
    finally:
        site.stop()

    last = results[-1]
    created = last["run"].created
    top_queries = sorted(kinds.items(), key=lambda item: -item[1])[:14]
    query_rows = "\n".join(
        f"| `{kind}` | {count / max(1, sample_created):.2f} |" for kind, count in top_queries
    )
    verdict = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    ratios = [result["ratio"] for result in results]
    round_rows = "\n".join(
        f"| {number} | {result['read'][0]:.1f} s / {result['read'][1]:.1f} s "
        f"| {result['sync']:.1f} s ({result['run'].created:,} created, {result['run'].quarantined} quarantined) "
        f"| {result['records'] / result['sync']:,.0f} | **{result['ratio']:.2f}** "
        f"| {1000 * result['cpu'][0] / max(result['run'].created, 1):.2f} + "
        f"{1000 * result['cpu'][1] / max(result['run'].created, 1):.2f} ms "
        f"| {result['rss']:.0f} MB | {result['load'][0]:.1f} → {result['load'][1]:.1f} |"
        for number, result in enumerate(results, 1)
    )
    sync_only = last["sync"]
    ceiling = os.cpu_count() * created / max(sum(last["cpu"]), 1e-6)
    body = f"""
{machine_line()}

{total:,} messy submissions (forms 3, 4, 5, 7; generated in {generated:.0f} s: repeat people and double submits,
invalid emails and phones, messages up to 20 kB with emoji, CJK, right-to-left and zero-width text, HTML,
SQL and formulas, link spam, job seekers, unknown services, junk answers, odd UTMs) from the fake site in the
collection shape, keyset pages of 100. The site answers each page in {1000 * SITE_LATENCY:.0f} ms plus
{1000 * SITE_ITEM_LATENCY:.1f} ms per submission, slept (a remote server's time), to concurrent requests.
Each round: a **bare read** of every page (the sync's connector, HTTP client, page size and
{sync_processes(len(FORMS))} processes, nothing stored), the **first sync** (`manage.py wp_sync` in a child
process into an emptied database), the bare read again. The machine is shared with other work: compare
within a round.

| round | bare read before / after | first sync (run start→end) | sync leads/s | **sync ÷ bare read** | CPU per lead (worker + PostgreSQL) | worker peak RSS | load (1 min) before → after |
|---|---|---|---|---|---|---|---|
{round_rows}

| measure | value | target |
|---|---|---|
| **sync speed as a share of the bare read's** (median of {len(ratios)} rounds) | **{statistics.median(ratios):.2f}** | ≥ {TARGET_RATIO}: {verdict(statistics.median(ratios) >= TARGET_RATIO)} |
| CPU per lead, worker and PostgreSQL together (last round) → the most {os.cpu_count()} cores could sync | {1000 * sum(last["cpu"]) / max(created, 1):.2f} ms → {ceiling:,.0f} leads/s | |
| that ceiling as a share of the bare read's speed: the ratio on a machine left to the sync (last round) | {ceiling / (last["records"] / statistics.mean(last["read"])):.2f} | |
| **worker peak memory: summed RSS of the worker and its form processes** (last round) | **{last["rss"]:.0f} MB** (summed PSS {last["pss"]:.0f} MB) | ≤ {TARGET_RSS_MB} MB: {verdict(last["rss"] <= TARGET_RSS_MB)} |
| second sync (incremental; the site answering at once from here on) | {second_seconds:.2f} s, created {second_run.created}, updated {second_run.updated} ({100 * second_seconds / sync_only:.1f}% of first) | ≤ 10%: {verdict(second_seconds <= 0.1 * sync_only and not second_run.created and not second_run.updated)} |
| second sync `--full` (re-reads all {full_run.fetched:,}) | {full_seconds:.1f} s, created {full_run.created}, updated {full_run.updated}, duplicates {full_run.duplicates:,} ({100 * full_seconds / sync_only:.1f}% of first) | ≤ 10%: {verdict(full_seconds <= 0.1 * sync_only and not full_run.created and not full_run.updated)} |

### Where the time goes (profiled sample of {sample_created} messy leads, in-process, the site answering at once)

{sample_created} leads in {sample_seconds:.1f} s under cProfile; **{per_lead:.2f} queries per lead** (`COPY` statements are
not counted). Each page of 100 is one transaction: `crm.intake.create_leads` for the page's new records
(classification, duplicates, assignment, events, Wagtail log entries, tags, in a few queries and `COPY`s per page, one
`lead_events_recorded` signal), then the raw submissions with their outcome, then the cursor. The next page is fetched
(and fingerprinted) in a thread meanwhile.

| query (per created lead) | count |
|---|---|
{query_rows}

```
{profile.strip()[:6000]}
```
"""
    write_section("sync", "WordPress sync", body)
    print(body)
