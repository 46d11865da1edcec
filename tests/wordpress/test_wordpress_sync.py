"""The pull sync against the fake WordPress over real HTTP: shapes, cursors, re-scan, quarantine, failures."""

from datetime import UTC, datetime

import pytest

from crm.models import Lead
from crm.signals import integration_failed
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from tests.fake_wordpress import run_queued_jobs
from wordpress.jobs import dispatch_due_syncs
from wordpress.locks import acquire_lock, release_lock
from wordpress.models import SourceForm, Submission, SyncRun, WordPressSource
from wordpress.reconcile import reconcile
from wordpress.retry import retry_submission
from wordpress.sync import sync_source

SHAPES = ["legacy", "gravity", "collection"]


def leads_of(source, form_id=None):
    leads = Lead.objects.filter(external_source=source.external_key)
    return leads.filter(external_form=form_id) if form_id else leads


def assert_consistent(source, site):
    """No duplicate, and every id at or below each form's cursor is stored (as lead or quarantined)."""
    for form in SourceForm.objects.filter(source=source):
        ids = list(leads_of(source, form.form_id).values_list("external_id", flat=True))
        assert len(ids) == len(set(ids))
        held = set(ids) | set(
            Submission.objects.filter(source=source, form_id=form.form_id, state="quarantined").values_list(
                "external_id", flat=True
            )
        )
        below_cursor = {value for value in site.ids(form.form_id) if int(value) <= form.cursor}
        assert below_cursor <= held


def assert_complete(source, site):
    report = reconcile(source)
    assert all(not entry["missing"] and not entry["extra"] for entry in report.values()), report


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_brings_every_submission_once(fake_wp, make_source, fast_retries, shape):
    source = make_source(fake_wp, shape)
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.form_counts["3"] == {
        "fetched": 12,
        "created": 12,
        "updated": 0,
        "duplicates": 0,
        "quarantined": 0,
        "error": "",
    }
    assert run.created == 17 and run.fetched == 17
    assert leads_of(source, "3").count() == 12
    assert leads_of(source, "7").count() == 5
    assert set(leads_of(source, "7").values_list("brand__code", flat=True)) == {"intrapal"}
    assert Submission.objects.filter(source=source, state="stored").count() == 17
    assert SourceForm.objects.get(source=source, form_id="3").cursor == max(map(int, fake_wp.ids("3")))
    source.refresh_from_db()
    assert source.health == WordPressSource.Health.OK and source.consecutive_failures == 0

    again = sync_source(source, full=True)
    assert again.status == SyncRun.Status.SUCCEEDED
    assert again.created == 0 and again.duplicates == 17
    assert leads_of(source).count() == 17
    assert_complete(source, fake_wp)


@pytest.mark.parametrize("shape", SHAPES)
def test_fields_times_and_raw_payload(fake_wp, make_source, fast_retries, shape):
    submission_id = fake_wp.add(
        "3",
        fields={
            "Nombre y apellido": "  Rau\u0301l\u200b Sosa ",
            "Razón social": "Farmacia Central SA",
            "Email": " Raul_1984@GMAIL.com ",
            "Teléfono": "(0351) 15 497-4776",
            "Ubicación": "Neuquén",
            "Me interesa el servicio": "almacenamiento y DEPOSITO",
            "Mensaje": "<script>alert(1)</script>",
            "utm_source": " IG ",
            "utm_campaign": "{campaignname}",
        },
        created=datetime(2025, 6, 3, 21, 13, 1, tzinfo=UTC),
    )
    source = make_source(fake_wp, shape)
    assert sync_source(source).status == SyncRun.Status.SUCCEEDED
    lead = Lead.objects.get(external_source=source.external_key, external_id=str(submission_id))
    assert lead.contact_name == "Raúl Sosa"
    assert lead.company == "Farmacia Central SA"
    assert lead.email == "raul_1984@gmail.com"
    assert lead.phone == "(0351) 15 497-4776" and lead.phone_e164 == "+5493514974776"
    assert lead.service is not None and lead.service.name == "Almacenamiento y depósito"
    assert lead.message == "<script>alert(1)</script>"
    assert lead.utm_source == "ig" and lead.utm_campaign == ""
    assert lead.submitted_at == datetime(2025, 6, 3, 21, 13, 1, tzinfo=UTC)
    assert lead.source.key == "wordpress"
    assert lead.raw_payload
    stored = Submission.objects.get(source=source, external_id=str(submission_id))
    assert stored.payload == lead.raw_payload and stored.lead == lead


def test_unmapped_fields_go_to_extra_and_mapping_overrides(fake_wp, make_source, fast_retries):
    submission_id = fake_wp.add(
        "3", fields={"Nombre y apellido": "Ana", "Cargo": "Compras", "Celu alternativo": "011 4555-1234"}
    )
    source = make_source(fake_wp, "legacy")
    SourceForm.objects.filter(source=source, form_id="3").update(field_mapping={"Celu alternativo": "phone"})
    sync_source(source)
    lead = Lead.objects.get(external_source=source.external_key, external_id=str(submission_id))
    assert lead.extra["Cargo"] == "Compras"
    assert lead.phone_e164 == "+541145551234"


def test_gravity_mapping_by_field_id(fake_wp, make_source, fast_retries):
    submission_id = fake_wp.add("3", fields={"Nombre y apellido": "Ana Paz", "Ubicación": "Salta"})
    source = make_source(fake_wp, "gravity")
    SourceForm.objects.filter(source=source, form_id="3").update(field_mapping={"5": "company"})
    sync_source(source)
    lead = Lead.objects.get(external_source=source.external_key, external_id=str(submission_id))
    assert lead.contact_name == "Ana Paz"
    assert lead.company == "Salta" and lead.location == ""


def test_invalid_email_unknown_service_and_job_seeker_are_kept_and_flagged(
    fake_wp, make_source, fast_retries
):
    bad = fake_wp.add(
        "3", fields={"Nombre y apellido": "X", "Email": "x@gmail", "Me interesa el servicio": "Drones"}
    )
    seeker = fake_wp.add(
        "3",
        fields={
            "Email": "busco@example.com",
            "Me interesa el servicio": "Busco trabajo/ Ofrezco productos o servicios",
        },
    )
    source = make_source(fake_wp, "collection")
    sync_source(source)
    lead = Lead.objects.get(external_source=source.external_key, external_id=str(bad))
    assert lead.email == "x@gmail"
    assert set(lead.tags.names()) >= {"invalid-email", "unknown-service"}
    assert lead.service is None and lead.service_text == "Drones"
    assert "invalid_email" in lead.extra["_flags"]
    job_seeker = Lead.objects.get(external_source=source.external_key, external_id=str(seeker))
    assert job_seeker.status.key == "negative"


def test_incremental_sync_fetches_only_new_rows(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "collection")
    sync_source(source)
    before = len(fake_wp.requests)
    new_id = fake_wp.add("7")
    run = sync_source(source)
    assert run.created == 1 and run.duplicates == 0
    assert leads_of(source).filter(external_id=str(new_id)).exists()
    assert len(fake_wp.requests) - before <= 4


@pytest.mark.parametrize("shape", ["gravity", "collection"])
def test_rescan_tags_spam_and_trash_never_deletes(fake_wp, make_source, fast_retries, shape):
    source = make_source(fake_wp, shape)
    sync_source(source)
    spam_id, trash_id = sorted(map(int, fake_wp.ids("3")))[:2]
    fake_wp.set_status(spam_id, "spam")
    fake_wp.set_status(trash_id, "trash")
    run = sync_source(source)
    assert run.updated == 2 and run.created == 0
    assert leads_of(source).count() == 17
    assert (
        "wp-spam"
        in Lead.objects.get(external_source=source.external_key, external_id=str(spam_id)).tags.names()
    )
    assert (
        "wp-trash"
        in Lead.objects.get(external_source=source.external_key, external_id=str(trash_id)).tags.names()
    )
    assert sync_source(source).updated == 0


def test_submission_already_spam_on_first_sync_is_stored_and_tagged(fake_wp, make_source, fast_retries):
    spam = fake_wp.add("7", status="spam")
    source = make_source(fake_wp, "collection")
    sync_source(source)
    assert (
        "wp-spam" in Lead.objects.get(external_source=source.external_key, external_id=str(spam)).tags.names()
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_broken_record_is_quarantined_and_the_run_goes_on(fake_wp, make_source, fast_retries, shape):
    broken = sorted(map(int, fake_wp.ids("3")))[4]
    date_key = {"legacy": "created_at", "gravity": "date_created", "collection": "date_gmt"}[shape]
    overrides = {date_key: "ayer a la tarde"}
    if shape == "collection":
        overrides["date"] = "ayer"
    fake_wp.corrupt(broken, **overrides)
    source = make_source(fake_wp, shape)
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.quarantined == 1 and run.created == 16
    held = Submission.objects.get(source=source, external_id=str(broken))
    assert held.state == Submission.State.QUARANTINED and "date" in held.reason
    assert held.payload[date_key] == "ayer a la tarde"
    assert_complete(source, fake_wp)

    with pytest.raises(Exception, match="date"):
        retry_submission(held)
    fake_wp.overrides.clear()
    held.payload = {key: value for key, value in held.payload.items() if key not in overrides}
    held.payload.update(
        {
            "legacy": {"created_at": "2025-06-01 09:00:00"},
            "gravity": {"date_created": "2025-06-01 12:00:00"},
            "collection": {"date_gmt": "2025-06-01T12:00:00"},
        }[shape]
    )
    held.save()
    lead = retry_submission(held)
    assert lead.external_id == str(broken)
    held.refresh_from_db()
    assert held.state == Submission.State.STORED


# ---- failures ------------------------------------------------------------------------------------


FAILURES = {
    "html_maintenance_502": {"path": "3", "status": 502, "body": "html", "skip": 1},
    "html_with_200": {"path": "3", "status": 200, "body": "html", "skip": 1},
    "truncated_json": {"path": "3", "body": "truncated", "skip": 1},
    "timeout": {"path": "3", "delay": 2.5, "skip": 1},
    "dropped_connection": {"path": "3", "body": "drop", "skip": 1},
    "busy_503_every_time": {"path": "3", "status": 503, "retry_after": 1, "skip": 1, "times": 10},
    "bad_param_400": {"path": "3", "status": 400, "skip": 1},
}


def _fault_path(shape):
    return {"legacy": "/forms/3", "gravity": "/forms/3/entries", "collection": "form_id=3"}[shape]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_failures_lose_nothing_and_keep_the_cursor_safe(fake_wp, make_source, fast_retries, shape, failure):
    fault = dict(FAILURES[failure], path=_fault_path(shape))
    fake_wp.fail(**fault)
    source = make_source(fake_wp, shape)
    run = sync_source(source)
    assert run.status == SyncRun.Status.FAILED
    assert run.form_counts["3"]["error"] and run.form_counts["7"]["error"] == ""
    assert run.form_counts["3"]["created"] == 5
    form = SourceForm.objects.get(source=source, form_id="3")
    assert form.cursor == sorted(map(int, fake_wp.ids("3")))[4]
    assert_consistent(source, fake_wp)
    source.refresh_from_db()
    assert source.health == WordPressSource.Health.FAILING and source.consecutive_failures == 1
    assert source.last_error

    fake_wp.faults.clear()
    rerun = sync_source(source)
    assert rerun.status == SyncRun.Status.SUCCEEDED, rerun.error
    assert rerun.created == 7
    assert leads_of(source).count() == 17
    assert_consistent(source, fake_wp)
    assert_complete(source, fake_wp)
    source.refresh_from_db()
    assert source.health == WordPressSource.Health.OK and source.consecutive_failures == 0


def test_connection_refused_fails_with_reason(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "collection")
    fake_wp.stop()
    run = sync_source(source)
    assert run.status == SyncRun.Status.FAILED
    assert "connect" in run.error.lower()
    assert not leads_of(source).exists()
    assert SourceForm.objects.filter(source=source, cursor=0).count() == 2


def test_unknown_form_404_fails_only_that_form(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "legacy", forms=(("3", "intralog"), ("99", "intralog")))
    run = sync_source(source)
    assert run.status == SyncRun.Status.FAILED
    assert "404" in run.form_counts["99"]["error"]
    assert run.form_counts["3"]["created"] == 12


@pytest.mark.parametrize("shape", SHAPES)
def test_retry_after_is_honoured_then_the_page_is_stored(fake_wp, make_source, fast_retries, shape):
    fake_wp.fail(path=_fault_path(shape), status=429, retry_after=7, skip=1, times=2)
    source = make_source(fake_wp, shape)
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert leads_of(source).count() == 17
    assert len(fast_retries) == 2
    assert all(7 <= wait <= 30 for wait in fast_retries)


def test_backoff_grows_and_is_capped(fake_wp, make_source, fast_retries, settings):
    settings.WORDPRESS_MAX_ATTEMPTS = 6
    settings.WORDPRESS_BACKOFF_CAP = 5
    fake_wp.fail(path="form_id=3", status=503, body="html", times=5)
    source = make_source(fake_wp, "collection")
    assert sync_source(source).status == SyncRun.Status.SUCCEEDED
    assert len(fast_retries) == 5
    assert fast_retries[0] < 2 and fast_retries[-1] == 5
    assert fast_retries == sorted(fast_retries)


def test_retry_after_beyond_the_cap_fails_without_waiting(fake_wp, make_source, fast_retries):
    fake_wp.fail(path="form_id=3", status=503, retry_after=3600)
    source = make_source(fake_wp, "collection")
    run = sync_source(source)
    assert run.status == SyncRun.Status.FAILED and "3600" in run.error
    assert fast_retries == []


@pytest.mark.parametrize(
    ("username", "password", "status", "health", "says"),
    [
        (
            "wp-sync",
            "wrong",
            401,
            WordPressSource.Health.CREDENTIALS_INVALID,
            "username or application password",
        ),
        (
            "wp-viewer",
            None,
            403,
            WordPressSource.Health.LACKS_RIGHTS,
            "“wp-viewer” signed in but lacks the rights",
        ),
    ],
)
def test_credentials_refused_marks_source_and_tells_admins(
    fake_wp, make_source, fast_retries, username, password, status, health, says
):
    source = make_source(fake_wp, "gravity")
    source.username = username
    source.app_password = password or fake_wp.password
    source.save()
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    integration_failed.connect(receiver, dispatch_uid="test-wp")
    try:
        run = sync_source(source)
    finally:
        integration_failed.disconnect(dispatch_uid="test-wp")
    assert run.status == SyncRun.Status.FAILED and str(status) in run.error and says in run.error
    assert password is None or password not in run.error
    source.refresh_from_db()
    assert source.health == health and says in source.last_error
    assert received and received[0]["kind"] == "wordpress_source" and received[0]["name"] == source.name
    assert str(source.pk) in received[0]["admin_url"]
    requests_after_failure = len(fake_wp.requests)
    assert len(fake_wp.requests) <= 2
    assert dispatch_due_syncs() == []
    assert len(fake_wp.requests) == requests_after_failure


def test_dispatcher_respects_interval_and_runs_due_sources(
    fake_wp, make_source, fast_retries, django_capture_on_commit_callbacks
):
    source = make_source(fake_wp, "collection", interval_minutes=5)
    disabled = make_source(fake_wp, "legacy", name="Apagado", enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due_syncs() == [source.pk]
    run_queued_jobs("default")
    assert leads_of(source).count() == 17
    assert not leads_of(disabled).exists()
    assert dispatch_due_syncs() == []
    source.refresh_from_db()
    assert dispatch_due_syncs(now=source.next_sync_at) == [source.pk]


def test_exception_between_pages_then_rerun_completes(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "gravity")

    def crash(form, counts):
        if form.form_id == "3" and counts["fetched"] == 10:
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        sync_source(source, between_pages=crash)
    assert leads_of(source, "3").count() == 10
    assert SyncRun.objects.get(source=source).status == SyncRun.Status.FAILED
    assert_consistent(source, fake_wp)
    rerun = sync_source(source)
    assert rerun.status == SyncRun.Status.SUCCEEDED and rerun.created == 7
    assert_complete(source, fake_wp)


def test_a_live_lock_skips_a_second_run_and_a_dead_one_is_taken_over(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "collection")
    owner = acquire_lock(source)
    run = sync_source(source)
    assert run.status == SyncRun.Status.SKIPPED and not leads_of(source).exists()
    release_lock(source, owner)

    WordPressSource.objects.filter(pk=source.pk).update(lock_owner=f"{_host()}:999999:dead")
    stale_run = SyncRun.objects.create(source=source)
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCEEDED
    stale_run.refresh_from_db()
    assert stale_run.status == SyncRun.Status.FAILED


def _host():
    from wordpress.locks import HOST

    return HOST


def test_rules_and_statuses_are_read_once_per_form_not_per_page(fake_wp, make_source, fast_retries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    source = make_source(fake_wp, "collection", forms=(("3", "intralog"),), page_size=3)
    with CaptureQueriesContext(connection) as queries:
        run = sync_source(source)
    assert run.created == 12
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert tables.count('FROM "crm_classificationrule"') == 1
    assert tables.count('FROM "crm_pipelinestatus" WHERE "crm_pipelinestatus"."key" IN') == 1


def test_sync_page_query_count_does_not_grow_with_existing_rows(
    fake_wp, make_source, fast_retries, django_assert_max_num_queries
):
    source = make_source(fake_wp, "collection")
    sync_source(source)
    with django_assert_max_num_queries(100):
        run = sync_source(source, full=True)
    assert run.duplicates == 17
