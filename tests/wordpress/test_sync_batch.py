"""The sync creates each page's leads in one batch; a batch that fails is stored record by record."""

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from crm import intake
from crm.models import Lead
from crm.signals import lead_events_recorded
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from wordpress.models import SourceForm, Submission, SyncRun
from wordpress.reconcile import reconcile
from wordpress.statistics import GrowthStatistics
from wordpress.sync import sync_source


def test_a_failing_record_is_quarantined_and_the_rest_of_its_page_stored(
    fake_wp, make_source, fast_retries, monkeypatch
):
    poisoned = sorted(map(int, fake_wp.ids("3")))[2]
    create_leads = intake.create_leads
    batches = []

    def failing(drafts, *args, **kwargs):
        drafts = list(drafts)
        batches.append(len(drafts))
        if any(draft.external_id == str(poisoned) for draft in drafts):
            raise DatabaseError("value rejected")
        return create_leads(drafts, *args, **kwargs)

    monkeypatch.setattr(intake, "create_leads", failing)
    source = make_source(fake_wp, "collection")
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.quarantined == 1 and run.created == 16
    held = Submission.objects.get(source=source, external_id=str(poisoned))
    assert held.state == Submission.State.QUARANTINED and "value rejected" in held.reason
    assert held.payload["id"] == poisoned
    assert Submission.objects.filter(source=source, state="stored", lead__isnull=False).count() == 16
    assert SourceForm.objects.get(source=source, form_id="3").cursor == max(map(int, fake_wp.ids("3")))
    assert all(not entry["missing"] and not entry["extra"] for entry in reconcile(source).values())
    assert 1 in batches and max(batches) == 5


def test_a_page_sends_one_batch_signal(fake_wp, make_source, fast_retries):
    seen = []

    def receiver(sender, events, **kwargs):
        seen.append(events)

    lead_events_recorded.connect(receiver, dispatch_uid="test-sync-batch")
    try:
        source = make_source(fake_wp, "legacy", page_size=100)
        sync_source(source)
    finally:
        lead_events_recorded.disconnect(dispatch_uid="test-sync-batch")
    assert len(seen) == 2
    created = [event for events in seen for event in events if event.kind == "created"]
    assert len(created) == Lead.objects.filter(external_source=source.external_key).count() == 17


@pytest.mark.parametrize("shape", ["legacy", "gravity", "collection"])
def test_second_sync_creates_and_updates_nothing(fake_wp, make_source, fast_retries, shape):
    source = make_source(fake_wp, shape)
    sync_source(source)
    submissions = dict(Submission.objects.filter(source=source).values_list("pk", "updated_at"))
    again = sync_source(source, full=True)
    assert again.created == again.updated == again.quarantined == 0 and again.duplicates == 17
    assert dict(Submission.objects.filter(source=source).values_list("pk", "updated_at")) == submissions


@pytest.mark.skipif(connection.vendor != "postgresql", reason="table statistics are PostgreSQL's")
@pytest.mark.parametrize(("minimum", "analyzed"), [(10, True), (10**9, False)])
def test_a_sync_that_grows_its_tables_refreshes_their_statistics(
    fake_wp, make_source, fast_retries, monkeypatch, minimum, analyzed
):
    monkeypatch.setattr(GrowthStatistics, "MINIMUM", minimum)
    with CaptureQueriesContext(connection) as queries:
        sync_source(make_source(fake_wp, "collection"))
    analyses = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("ANALYZE")]
    expected = [
        "ANALYZE wordpress_submission (source_id, form_id, external_id)",
        "ANALYZE crm_lead (id, external_source, external_form, external_id)",
    ]
    assert analyses == (expected if analyzed else [])
