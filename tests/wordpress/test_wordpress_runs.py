"""The run record: refused credentials told apart from missing rights, counts that add up, progress as it goes."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from crm.models import Lead
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from wordpress.jobs import dispatch_due_syncs
from wordpress.models import SyncRun, WordPressSource
from wordpress.sync import sync_source

SHAPES = ["legacy", "gravity", "collection"]
OLD = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)


def test_a_user_without_the_rights_is_told_apart_from_a_wrong_password(
    fake_wp, make_source, fast_retries, admin_user, client_for
):
    wrong = make_source(fake_wp, "gravity", name="Clave mala")
    wrong.app_password = "wrong password"
    wrong.save()
    viewer = make_source(fake_wp, "legacy", name="Sin permisos")
    viewer.username = fake_wp.readonly_username
    viewer.save()

    refused, lacking = sync_source(wrong), sync_source(viewer)
    assert "HTTP 401" in refused.error and "username or application password" in refused.error
    assert refused.form_counts["3"]["error"] == "credentials refused"
    assert (
        "HTTP 403" in lacking.error and "lacks the rights" in lacking.error and "wp-viewer" in lacking.error
    )
    assert "administrator role" in lacking.error
    assert lacking.form_counts["3"]["error"] == "user lacks the rights"
    wrong.refresh_from_db()
    viewer.refresh_from_db()
    assert wrong.health == WordPressSource.Health.CREDENTIALS_INVALID
    assert viewer.health == WordPressSource.Health.LACKS_RIGHTS and viewer.access_refused
    assert dispatch_due_syncs() == []

    client = client_for(admin_user)
    listing = client.get("/admin/wordpress/sources/").content.decode()
    assert "User lacks the rights" in listing and "Credentials invalid" in listing
    page = client.get(f"/admin/wordpress/sources/inspect/{viewer.pk}/").content.decode()
    assert "lacks the rights to read the submissions" in page
    run_page = client.get(f"/admin/wordpress/runs/inspect/{lacking.pk}/").content.decode()
    assert "lacks the rights to read the submissions" in run_page


@pytest.mark.parametrize("shape", SHAPES)
def test_run_counts_add_up_with_spam_on_the_site(fake_wp, make_source, fast_retries, shape):
    fake_wp.add("3", created=OLD, status="spam")
    fake_wp.add("3", status="spam")
    fake_wp.add("7", status="trash")
    source = make_source(fake_wp, shape)
    run = sync_source(source)
    leads = Lead.objects.filter(external_source=source.external_key).count()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.created == leads
    for entry in [*run.form_counts.values(), {key: getattr(run, key) for key in ("fetched", "created")}]:
        assert entry["created"] <= entry["fetched"], run.form_counts
    assert run.fetched == run.created + run.updated + run.duplicates + run.quarantined
    assert {key: sum(entry[key] for entry in run.form_counts.values()) for key in ("fetched", "created")} == {
        "fetched": run.fetched,
        "created": run.created,
    }
    again = sync_source(source)
    assert again.fetched == again.created + again.updated + again.duplicates + again.quarantined == 0


def test_a_forms_progress_reaches_the_run_while_it_syncs(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "collection")
    seen = []

    def look(form, counts):
        run = SyncRun.objects.get(source=source)
        seen.append((form.form_id, counts["created"], dict(run.form_counts), run.created))

    run = sync_source(source, between_pages=look)
    form_id, created, form_counts, total = seen[0]
    assert (form_id, created) == ("3", 5)
    assert form_counts["3"]["created"] == 5 and form_counts["3"]["running"] is True
    assert total == 5
    assert run.form_counts["3"] == {
        "fetched": 12,
        "created": 12,
        "updated": 0,
        "duplicates": 0,
        "quarantined": 0,
        "error": "",
    }


def test_a_run_that_crashes_mid_form_keeps_what_the_form_stored(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "gravity")

    def crash(form, counts):
        if form.form_id == "7" and counts["fetched"] == 5:
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        sync_source(source, between_pages=crash)
    run = SyncRun.objects.get(source=source)
    assert run.status == SyncRun.Status.FAILED
    assert run.form_counts["3"]["created"] == 12 and "running" not in run.form_counts["3"]
    assert run.form_counts["7"]["created"] == 5 and run.form_counts["7"]["running"] is True
    assert run.created == 17


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second process needs PostgreSQL")
def test_a_killed_run_shows_what_each_form_stored(fake_wp, make_source):
    from tests.wordpress.test_wordpress_postgres import _form_leads, _kill_when, _start_wp_sync

    source = make_source(fake_wp, "gravity")
    fake_wp.fail(path="/forms/3/entries", delay=60, skip=1)
    worker = _start_wp_sync(source)

    def first_page_recorded() -> bool:
        run = SyncRun.objects.filter(source=source).first()
        return _form_leads(source, "3").count() >= 5 and run is not None and "3" in run.form_counts

    # The second page hangs for a minute: the kill lands after the first page's leads and its progress
    # record were both committed (the two are separate transactions).
    _kill_when(worker, first_page_recorded)
    killed = SyncRun.objects.get(source=source)
    assert killed.status == SyncRun.Status.RUNNING
    assert killed.form_counts["3"]["created"] == 5 and killed.form_counts["3"]["fetched"] == 5
    assert killed.form_counts["3"]["running"] is True
    assert killed.created == 5

    fake_wp.faults.clear()
    rerun = sync_source(WordPressSource.objects.get(pk=source.pk))
    assert rerun.status == SyncRun.Status.SUCCEEDED and rerun.created == 12
    killed.refresh_from_db()
    assert killed.status == SyncRun.Status.FAILED
    assert killed.form_counts["3"]["created"] == 5


@pytest.mark.parametrize("shape", SHAPES)
def test_a_rescan_neither_counts_nor_retries_an_unchanged_quarantined_record(
    fake_wp, make_source, fast_retries, shape
):
    from django.utils import timezone

    from wordpress.models import SourceForm, Submission

    broken = sorted(map(int, fake_wp.ids("3")))[-1]
    fake_wp.corrupt(broken, created_at="ayer", date_created="ayer", date_gmt="ayer", date="ayer")
    fake_wp.set_status(broken, "active")
    source = make_source(fake_wp, shape)
    assert sync_source(source).quarantined == 1
    SourceForm.objects.filter(source=source).update(
        fully_rescanned_at=timezone.now() - timezone.timedelta(days=1)
    )
    held = Submission.objects.get(source=source, external_id=str(broken))
    again = sync_source(source)
    assert again.fetched == again.quarantined == again.created == again.updated == 0, again.form_counts
    assert Submission.objects.get(pk=held.pk).updated_at == held.updated_at
