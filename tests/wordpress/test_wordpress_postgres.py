"""Concurrency and crash safety of the sync on PostgreSQL (real transactions, threads, a killed worker)."""

import os
import signal
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from crm.models import Brand, Lead, PipelineStatus
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from tests.threads import in_thread
from wordpress.connectors import connector_for
from wordpress.fake import FakeWordPress
from wordpress.models import SourceForm, Submission, SyncRun, WordPressSource
from wordpress.statistics import GrowthStatistics
from wordpress.store import store_page
from wordpress.sync import sync_source

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks and a second process need PostgreSQL"
    ),
]
ROOT = Path(__file__).resolve().parents[2]


def test_two_syncs_of_one_source_at_once(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "collection")
    fake_wp.fail(path="form_id=3", delay=0.3, times=100)
    first, first_result = in_thread(sync_source, source)
    second, second_result = in_thread(sync_source, WordPressSource.objects.get(pk=source.pk))
    first.join(30)
    second.join(30)
    runs = [first_result.get("value"), second_result.get("value")]
    assert "error" not in first_result and "error" not in second_result
    assert sorted(run.status for run in runs) in (["skipped", "succeeded"], ["succeeded", "succeeded"])
    assert sum(run.created for run in runs) == 17
    ids = list(Lead.objects.filter(external_source=source.external_key).values_list("external_id", flat=True))
    assert len(ids) == len(set(ids)) == 17


def test_the_same_page_stored_by_two_workers_at_once_creates_each_lead_once(
    fake_wp, make_source, fast_retries
):
    source = make_source(fake_wp, "legacy")
    form = SourceForm.objects.get(source=source, form_id="3")
    page = next(iter(connector_for(source).fetch_new("3", 0)))
    barrier = threading.Barrier(2)

    def store():
        barrier.wait()
        return store_page(source, form, page)

    threads = [in_thread(store) for _ in range(2)]
    for thread, _result in threads:
        thread.join(30)
    counts = [result["value"] for _thread, result in threads]
    assert sum(count["created"] for count in counts) == len(page)
    assert sum(count["duplicates"] for count in counts) == len(page)
    assert Lead.objects.filter(external_source=source.external_key).count() == len(page)
    assert Submission.objects.filter(source=source).count() == len(page)


def _form_leads(source, form_id):
    return Lead.objects.filter(external_source=source.external_key, external_form=form_id)


def _start_wp_sync(source, processes=1):
    env = dict(
        os.environ,
        WORDPRESS_SYNC_PROCESSES=str(processes),
        DJANGO_SETTINGS_MODULE="intralog.settings.test",
        DATABASE_URL=_database_url(),
        PYTHONPATH=str(ROOT),
    )
    env.pop("REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", "wp_sync", source.name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_when(worker, condition):
    try:
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline, "the worker stored nothing"
            assert worker.poll() is None
            time.sleep(0.2)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()


def _table_reads(table, column):
    """A ``pg_stat_user_tables`` counter of ``table`` so far, this connection's pending counts included."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(f"SELECT {column} FROM pg_stat_user_tables WHERE relname = %s", [table])  # noqa: S608
        return cursor.fetchone()[0]


def _emptied_lead_table(rows):
    """The lead table as a purge leaves it where nothing analyzed it while it held rows: no rows, statistics
    saying so and knowing nothing of its columns, indexes still their old size."""
    lead = Lead.objects.create(brand=Brand.objects.first(), status=PipelineStatus.objects.first())
    columns = [field.column for field in Lead._meta.concrete_fields if not field.primary_key]
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO crm_lead ({names}) SELECT {names} FROM crm_lead, generate_series(1, %s) "  # noqa: S608
            "WHERE id = %s",
            [rows, lead.pk],
        )
        cursor.execute("DELETE FROM crm_lead")
        cursor.execute("VACUUM ANALYZE crm_lead")
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = 'crm_lead'::regclass")


@pytest.mark.parametrize(("minimum", "refreshed"), [(100, True), (10**9, False)])
def test_a_sync_into_an_emptied_lead_table_keeps_its_foreign_key_checks_on_indexes(
    make_source, settings, monkeypatch, minimum, refreshed
):
    """PostgreSQL caches the plans of its foreign-key checks per connection. Made while the emptied lead
    table is small beside its indexes, they scan it whole on every check until the table is analyzed
    again; the sync analyzes it as it grows."""
    settings.WORDPRESS_SYNC_PROCESSES = 1
    monkeypatch.setattr(GrowthStatistics, "MINIMUM", minimum)
    site = FakeWordPress(forms={"3": 1500}, seed=11)
    site.start()
    try:
        _emptied_lead_table(rows=50_000)
        connection.close()  # as a sync job's own connection: no plans cached before the purge
        source = make_source(site, "collection", forms=(("3", "intralog"),), page_size=100)
        before = _table_reads("crm_lead", "seq_scan")
        run = sync_source(source)
        scans = _table_reads("crm_lead", "seq_scan") - before
    finally:
        site.stop()
    assert run.created == 1500
    if refreshed:
        assert scans < 1500, "fewer than one scan a lead: the checks went back to the primary key"
    else:
        assert scans > 3000, "without the refresh, every check scans the table"


@pytest.mark.parametrize(("minimum", "refreshed"), [(100, True), (10**9, False)])
def test_a_form_synced_after_another_is_known_to_the_statistics_its_lookups_plan_on(
    make_source, settings, monkeypatch, minimum, refreshed
):
    """Statistics taken when only form 3 had submissions say form 7 is empty: its lookups by external id
    then read the whole form for every page. The form's own run analyzes as it grows."""
    settings.WORDPRESS_SYNC_PROCESSES = 1
    monkeypatch.setattr(GrowthStatistics, "MINIMUM", minimum)
    site = FakeWordPress(forms={"3": 1500, "7": 1500}, seed=12)
    site.start()
    try:
        source = make_source(site, "collection", forms=(("3", "intralog"),), page_size=100)
        sync_source(source)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE wordpress_submission")
        SourceForm.objects.create(source=source, form_id="7", brand=Brand.objects.get(code="intrapal"))
        assert sync_source(source).created == 1500
        before = _table_reads("wordpress_submission", "idx_tup_fetch")
        again = sync_source(source, full=True)
        fetched = _table_reads("wordpress_submission", "idx_tup_fetch") - before
    finally:
        site.stop()
    assert again.duplicates == 3000 and again.created == 0
    if refreshed:
        assert fetched < 2 * 3000, "about one index entry a submission re-read"
    else:
        assert fetched > 10_000, "without the refresh, each page of form 7 reads the whole form"


def _index_reads(index):
    """``idx_tup_read`` of ``index`` so far, this connection's pending counts included."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = %s", [index])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("minimum", "refreshed"), [(100, True), (10**9, False)])
def test_the_lookup_of_leads_by_external_reference_probes_the_index_as_the_form_grows(
    make_source, settings, monkeypatch, minimum, refreshed
):
    """Each page looks up the leads that already hold its records' external references. Without column
    statistics the source and form look like a few rows, and the lookup reads every lead of the form
    (the ids as a filter) for every page; the sync's statistics know the reference columns."""
    settings.WORDPRESS_SYNC_PROCESSES = 1
    monkeypatch.setattr(GrowthStatistics, "MINIMUM", minimum)
    site = FakeWordPress(forms={"3": 1500}, seed=13)
    site.start()
    try:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM pg_statistic WHERE starelid = 'crm_lead'::regclass")
        connection.close()
        source = make_source(site, "collection", forms=(("3", "intralog"),), page_size=100)
        before = _index_reads("crm_lead_unique_external_ref")
        run = sync_source(source)
        read = _index_reads("crm_lead_unique_external_ref") - before
    finally:
        site.stop()
    assert run.created == 1500
    if refreshed:
        assert read < 3000, "the lookups probe the index for their ids"
    else:
        assert read > 6000, "without the statistics, every page reads the form's leads"


def test_worker_killed_mid_sync_then_rerun_reconciles(fake_wp, make_source):
    source = make_source(fake_wp, "gravity")
    fake_wp.fail(path="/forms/3/entries", delay=60, skip=1)
    worker = _start_wp_sync(source)
    _kill_when(worker, lambda: _form_leads(source, "3").count() >= 5)
    assert _form_leads(source, "3").count() == 5
    assert SyncRun.objects.get(source=source).status == SyncRun.Status.RUNNING
    source.refresh_from_db()
    assert source.lock_owner

    fake_wp.faults.clear()
    out = StringIO()
    call_command("wp_sync", source.name, stdout=out)
    assert "form 3: fetched=7 created=7" in out.getvalue()
    assert SyncRun.objects.filter(source=source, status=SyncRun.Status.FAILED).count() == 1
    reconcile_out = StringIO()
    call_command("wp_reconcile", source.name, stdout=reconcile_out)
    assert "No differences" in reconcile_out.getvalue()
    ids = list(Lead.objects.filter(external_source=source.external_key).values_list("external_id", flat=True))
    assert len(ids) == len(set(ids)) == 17


def test_forms_sync_in_parallel_processes_that_die_with_the_worker(fake_wp, make_source):
    """Form 3 waits on its second page while form 7 finishes in another process; killing the worker
    kills the process still syncing form 3, which stores nothing after that."""
    source = make_source(fake_wp, "collection")
    fake_wp.fail(path="form_id=3", delay=3, skip=1)
    worker = _start_wp_sync(source, processes=2)
    _kill_when(
        worker,
        lambda: _form_leads(source, "3").count() >= 5 and _form_leads(source, "7").count() == 5,
    )
    time.sleep(4)
    assert _form_leads(source, "3").count() == 5
    assert _form_leads(source, "7").count() == 5

    fake_wp.faults.clear()
    run = sync_source(WordPressSource.objects.get(pk=source.pk))
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.form_counts["3"]["created"] == 7
    assert run.form_counts["7"]["created"] == 0
    assert _form_leads(source, "3").count() == 12


def _database_url():
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.mark.django_db
def test_only_pages_pulled_in_cursor_order_commit_without_waiting_for_the_flush(fake_wp, make_source):
    """A pulled page lost to a server crash is fetched again (its cursor is lost with it); a webhook
    body was acknowledged, so its commit stays durable."""
    from django.test.utils import CaptureQueriesContext

    source = make_source(fake_wp, "legacy")
    form = SourceForm.objects.get(source=source, form_id="3")
    first, second = list(connector_for(source).fetch_new("3", 0))[:2]
    asynchronous = "SET LOCAL synchronous_commit TO OFF"
    with CaptureQueriesContext(connection) as pulled:
        store_page(source, form, first)
    with CaptureQueriesContext(connection) as delivered:
        store_page(source, form, second, origin=Submission.Origin.WEBHOOK, advance_cursor=False)
    assert [query["sql"] for query in pulled].count(asynchronous) == 1
    assert asynchronous not in [query["sql"] for query in delivered]
    assert Lead.objects.filter(external_source=source.external_key).count() == len(first) + len(second)


def test_a_form_helper_that_dies_fails_the_run(fake_wp, make_source, settings, monkeypatch):
    from wordpress import sync

    settings.WORDPRESS_SYNC_PROCESSES = 2
    source = make_source(fake_wp, "collection")
    parent = os.getpid()
    sync_one = sync._sync_one

    def dies_in_a_helper(*args, **kwargs):
        if os.getpid() != parent:
            os._exit(1)
        return sync_one(*args, **kwargs)

    monkeypatch.setattr(sync, "_sync_one", dies_in_a_helper)
    with pytest.raises(sync.SyncError, match="ended before finishing"):
        sync_source(source)
    run = SyncRun.objects.get(source=source)
    assert run.status == SyncRun.Status.FAILED
    assert len(run.form_counts) == 1
    source.refresh_from_db()
    assert not source.lock_owner


def test_refused_credentials_stop_the_forms_not_yet_claimed(make_source, settings):
    from wordpress.fake import FakeWordPress

    settings.WORDPRESS_SYNC_PROCESSES = 2
    site = FakeWordPress(forms={"3": 3, "4": 3, "5": 3, "7": 3}, seed=3)
    site.start()
    try:
        source = make_source(
            site,
            "collection",
            forms=(("3", "intralog"), ("4", "intralog"), ("5", "intralog"), ("7", "intrapal")),
        )
        source.app_password = "wrong"
        source.save()
        run = sync_source(source)
    finally:
        site.stop()
    assert run.status == SyncRun.Status.FAILED
    source.refresh_from_db()
    assert source.health == WordPressSource.Health.CREDENTIALS_INVALID
    asked = {form for form in "3457" for path in site.requests if f"form_id={form}" in path}
    assert 1 <= len(asked) <= 2
    assert not source.lock_owner
