"""What WordPress flags (spam, trash) is handled the same through every shape, before and after import."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from alerts.models import Notification
from crm import services, system_notes
from crm.models import CLOSED_STAGES, Lead, LeadEvent, Stage
from tests.alerts_support import *  # noqa: F403 - fixtures
from tests.alerts_support import run_jobs
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from wordpress.models import SourceForm, Submission, SyncRun
from wordpress.reconcile import reconcile
from wordpress.sync import sync_source

SHAPES = ["legacy", "gravity", "collection"]
OLD = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)
GENUINE = {
    "Nombre y apellido": "Ana Paz",
    "Razón social": "Farmacia Central SA",
    "Email": "ana.paz@example.com",
    "Teléfono": "341 514 9027",
    "Me interesa el servicio": "Transporte",
    "Mensaje": "Necesitamos cotizar un flete a Rosario.",
}
FLAG_TAGS = {"wp-spam", "wp-trash", "wp-removed"}


def leads_of(source):
    return Lead.objects.filter(external_source=source.external_key)


def lead_of(source, submission_id):
    return leads_of(source).select_related("status").get(external_id=str(submission_id))


def working(source):
    """The source's leads someone should work: new or open, as (form, submission id)."""
    return set(
        leads_of(source).exclude(status__stage__in=CLOSED_STAGES).values_list("external_form", "external_id")
    )


def site_active(site):
    return {
        (form_id, key)
        for form_id in site.submissions
        for key, status in site.statuses(form_id).items()
        if status == "active"
    }


def assert_reconciled(source):
    report = reconcile(source)
    for entry in report.values():
        assert not entry["missing"] and not entry["extra"] and not entry["mismatched"], report


def assert_counts_add_up(run):
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    for entry in [*run.form_counts.values(), {key: getattr(run, key) for key in ("fetched", "created")}]:
        assert entry["created"] <= entry["fetched"], run.form_counts
    assert run.fetched == run.created + run.updated + run.duplicates + run.quarantined, run.form_counts


def sync(source):
    run = sync_source(source)
    assert_counts_add_up(run)
    return run


def a_day_later(source):
    """The legacy shape's complete re-scan is due again (as it is every few hours)."""
    SourceForm.objects.filter(source=source).update(fully_rescanned_at=timezone.now() - timedelta(days=1))


def test_one_site_gives_the_same_working_leads_through_every_shape(
    fake_wp, make_source, fast_retries, employee
):
    old_spam = fake_wp.add("3", created=OLD, status="spam")
    old_trash = fake_wp.add("7", created=OLD + timedelta(minutes=1), status="trash")
    new_spam = fake_wp.add("3", fields=GENUINE, status="spam")
    new_trash = fake_wp.add("7", status="trash")
    recent = fake_wp.add("3")
    sources = {shape: make_source(fake_wp, shape) for shape in SHAPES}
    for source in sources.values():
        sync(source)

    active = site_active(fake_wp)
    held = {
        shape: set(leads_of(source).values_list("external_form", "external_id"))
        for shape, source in sources.items()
    }
    for shape, source in sources.items():
        assert active <= held[shape], shape
        assert working(source) <= active, shape
        assert_reconciled(source)
    assert working(sources["legacy"]) == working(sources["gravity"]) == working(sources["collection"])
    for shape in ("gravity", "collection"):
        for flagged, tag in (
            (old_spam, "wp-spam"),
            (old_trash, "wp-trash"),
            (new_spam, "wp-spam"),
            (new_trash, "wp-trash"),
        ):
            lead = lead_of(sources[shape], flagged)
            assert lead.status.stage == Stage.JUNK and tag in lead.tags.names(), (shape, flagged)
            assert "WordPress" in lead.get_classification_reason_display()
            assert lead.assignee is None

    # Flagged on the site after import: an old entry (Gravity Forms keeps its date_updated), a recent one,
    # and one a salesperson has worked already; and a spam entry found to be genuine after all.
    old_active, worked_id = sorted(map(int, fake_wp.ids("3")))[0:2]
    for source in sources.values():
        worked = lead_of(source, worked_id)
        services.assign(worked, employee)
        services.add_note(worked, employee, "Llamé, pide cotización")
    fake_wp.set_status(old_active, "spam", touch_updated=False)
    fake_wp.set_status(recent, "trash", touch_updated=False)
    fake_wp.set_status(worked_id, "spam", touch_updated=False)
    fake_wp.set_status(new_spam, "active", touch_updated=False)
    for source in sources.values():
        a_day_later(source)
        sync(source)

    active = site_active(fake_wp)
    for shape, source in sources.items():
        assert working(source) <= active | {("3", str(worked_id))}, shape
        for gone in (old_active, recent):
            lead = lead_of(source, gone)
            assert lead.status.stage == Stage.JUNK, (shape, gone)
            assert lead.tags.names() and set(lead.tags.names()) & FLAG_TAGS
        restored = lead_of(source, new_spam)
        assert restored.status.key == "pending" and not set(restored.tags.names()) & FLAG_TAGS, shape
        worked = lead_of(source, worked_id)
        assert worked.status.key == "assigned" and set(worked.tags.names()) & FLAG_TAGS, shape
        assert worked.events.filter(kind=LeadEvent.Kind.CLASSIFIED, data__worked=True).exists()
        assert_reconciled(source)
    assert working(sources["legacy"]) == working(sources["gravity"]) == working(sources["collection"])
    assert ("3", str(new_spam)) in working(sources["legacy"])
    assert ("3", str(worked_id)) in working(sources["legacy"])

    for source in sources.values():
        again = sync(source)
        assert again.created == again.updated == 0


@pytest.mark.parametrize("shape", SHAPES)
def test_a_flag_closes_an_unworked_lead_with_a_reason_and_events(fake_wp, make_source, fast_retries, shape):
    source = make_source(fake_wp, shape)
    sync(source)
    flagged = sorted(map(int, fake_wp.ids("7")))[2]
    before = lead_of(source, flagged).status.key
    fake_wp.set_status(flagged, "trash", touch_updated=False)
    a_day_later(source)
    run = sync(source)
    assert run.updated == 1 and run.form_counts["7"]["updated"] == 1

    lead = lead_of(source, flagged)
    assert lead.status.stage == Stage.JUNK
    tag = "wp-removed" if shape == "legacy" else "wp-trash"
    assert tag in lead.tags.names()
    change = lead.events.get(kind=LeadEvent.Kind.STATUS_CHANGED, data__closed_upstream=True)
    assert change.actor is None and change.from_value == before and change.to_value == lead.status.key
    # Stored as a code, read in the reader's language (never in the language of whoever ran the sync).
    upstream = "removed" if shape == "legacy" else "trash"
    assert system_notes.decode(change.note) == ("wordpress_flagged", {"status": upstream})
    with translation.override("en"):
        assert "WordPress" in system_notes.render(change.note)
    with translation.override("es-ar"):
        assert "sitio de WordPress" in system_notes.render(change.note)
    assert leads_of(source).count() == 17
    held = Submission.objects.get(source=source, external_id=str(flagged))
    assert held.upstream_status == ("removed" if shape == "legacy" else "trash") and held.lead_id == lead.pk


@pytest.mark.parametrize("shape", SHAPES)
def test_a_lead_the_flag_closed_reopens_when_the_site_restores_it(fake_wp, make_source, fast_retries, shape):
    source = make_source(fake_wp, shape)
    sync(source)
    flagged = sorted(map(int, fake_wp.ids("3")))[5]
    fake_wp.set_status(flagged, "spam", touch_updated=False)
    a_day_later(source)
    sync(source)
    assert lead_of(source, flagged).status.stage == Stage.JUNK

    fake_wp.set_status(flagged, "active", touch_updated=False)
    a_day_later(source)
    run = sync(source)
    assert run.updated == 1
    lead = lead_of(source, flagged)
    assert lead.status.stage != Stage.JUNK and not set(lead.tags.names()) & FLAG_TAGS
    reopened = lead.events.get(kind=LeadEvent.Kind.STATUS_CHANGED, data__reopened_upstream=True)
    with translation.override("es-ar"):
        assert system_notes.render(reopened.note) == "Activo otra vez en el sitio de WordPress."
    assert_reconciled(source)


def test_legacy_notices_a_recent_flag_at_once_and_an_old_one_in_the_complete_rescan(
    fake_wp, make_source, fast_retries
):
    recent = fake_wp.add("3")
    source = make_source(fake_wp, "legacy")
    sync(source)
    old = sorted(map(int, fake_wp.ids("3")))[0]
    fake_wp.set_status(recent, "spam")
    fake_wp.set_status(old, "spam")

    run = sync(source)
    assert run.updated == 1
    assert lead_of(source, recent).status.stage == Stage.JUNK
    assert lead_of(source, old).status.stage != Stage.JUNK
    out = StringIO()
    with pytest.raises(CommandError, match="1 differences"):
        call_command("wp_reconcile", source.name, stdout=out)
    assert f"extra: {old}" in out.getvalue() and "--full" in out.getvalue()

    full = sync_source(source, full=True)
    assert full.updated == 1
    assert lead_of(source, old).status.stage == Stage.JUNK
    out = StringIO()
    call_command("wp_reconcile", source.name, stdout=out)
    assert "No differences" in out.getvalue()


def test_legacy_complete_rescan_runs_when_due(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "legacy")
    sync(source)
    old = sorted(map(int, fake_wp.ids("7")))[0]
    fake_wp.set_status(old, "trash")
    requests = len(fake_wp.requests)
    sync(source)
    assert lead_of(source, old).status.stage != Stage.JUNK
    window_requests = len(fake_wp.requests) - requests
    a_day_later(source)
    requests = len(fake_wp.requests)
    assert sync(source).updated == 1
    assert len(fake_wp.requests) - requests > window_requests
    assert lead_of(source, old).status.stage == Stage.JUNK
    form = SourceForm.objects.get(source=source, form_id="7")
    assert form.fully_rescanned_at > timezone.now() - timedelta(minutes=1)


def test_legacy_listing_that_drops_most_rows_at_once_marks_nothing_until_a_full_read(
    fake_wp, make_source, fast_retries
):
    source = make_source(fake_wp, "legacy")
    sync(source)
    for item in fake_wp.submissions["3"]:
        item["status"] = "trash"
    a_day_later(source)
    run = sync_source(source)
    assert run.status == SyncRun.Status.FAILED
    assert "stopped listing 12 of the 12" in run.form_counts["3"]["error"]
    assert run.form_counts["7"]["error"] == ""
    assert (
        not leads_of(source).filter(status__stage=Stage.JUNK, tagged_items__tag__name="wp-removed").exists()
    )
    assert not Submission.objects.filter(source=source, upstream_status="removed").exists()

    full = sync_source(source, full=True)
    assert full.status == SyncRun.Status.SUCCEEDED and full.updated == 12
    assert Submission.objects.filter(source=source, upstream_status="removed").count() == 12


def test_gravity_spam_older_than_the_rescan_window_is_imported_closed_and_reconciles(
    fake_wp, make_source, fast_retries
):
    spam = [fake_wp.add("3", created=OLD, status="spam") for _ in range(3)]
    trash = fake_wp.add("7", created=OLD, status="trash")
    source = make_source(fake_wp, "gravity")
    run = sync(source)
    assert run.created == 21 and run.fetched == 21
    for key in (*spam, trash):
        assert lead_of(source, key).status.stage == Stage.JUNK
    with translation.override("es-ar"):
        assert lead_of(source, trash).get_classification_reason_display() == (
            "Enviado a la papelera en el sitio de WordPress."
        )
    with translation.override("en"):
        assert (
            lead_of(source, spam[0]).get_classification_reason_display()
            == "Marked spam on the WordPress site."
        )
    assert working(source) <= site_active(fake_wp)
    assert_reconciled(source)


def test_reconcile_compares_statuses_like_with_like(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "collection")
    sync(source)
    flagged = sorted(map(int, fake_wp.ids("3")))[1]
    fake_wp.set_status(flagged, "spam")
    [entry] = [entry for form_id, entry in reconcile(source).items() if form_id == "3"]
    assert entry["mismatched"] == [[str(flagged), "spam", "active"]]
    assert entry["missing"] == entry["extra"] == []
    out = StringIO()
    with pytest.raises(CommandError, match="1 differences"):
        call_command("wp_reconcile", source.name, stdout=out)
    assert f"{flagged} (site spam, CRM active)" in out.getvalue()
    sync(source)
    assert_reconciled(source)


def test_the_assignee_of_a_worked_lead_hears_when_its_site_flags_it(
    alerts_env, make_rule, fake_wp, make_source, fast_retries, employee, django_capture_on_commit_callbacks
):
    make_rule("Flagged on the website", trigger="flagged_upstream", notify_assignee=True)
    source = make_source(fake_wp, "gravity")
    sync(source)
    worked_id, unworked_id = sorted(map(int, fake_wp.ids("3")))[:2]
    worked = lead_of(source, worked_id)
    services.assign(worked, employee)
    services.log_contact_attempt(worked, employee, "phone", "reached")
    services.assign(lead_of(source, unworked_id), employee)
    fake_wp.set_status(worked_id, "spam", touch_updated=False)
    fake_wp.set_status(unworked_id, "spam", touch_updated=False)
    with django_capture_on_commit_callbacks(execute=True):
        sync(source)
    run_jobs()

    worked = lead_of(source, worked_id)
    assert worked.status.key == "assigned" and "wp-spam" in worked.tags.names()
    assert lead_of(source, unworked_id).status.stage == Stage.JUNK
    sent = [message for message in alerts_env["smtp"].messages if employee.email in message["to"]]
    assert len(sent) == 1
    assert "marked spam or trash on its website" in sent[0]["message"]["Subject"]
    assert Notification.objects.get(recipient=employee).lead_id == worked.pk


def test_gravity_spam_deleted_on_the_site_still_reconciles(fake_wp, make_source, fast_retries):
    purged = fake_wp.add("3", created=OLD, status="spam")
    kept = fake_wp.add("3", created=OLD, status="trash")
    source = make_source(fake_wp, "gravity")
    sync(source)
    fake_wp.submissions["3"] = [item for item in fake_wp.submissions["3"] if item["id"] != purged]
    report = reconcile(source)
    assert report["3"]["extra"] == [str(purged)]
    sync(source)
    assert Submission.objects.get(source=source, external_id=str(purged)).upstream_status == "removed"
    assert (
        lead_of(source, purged).status.stage == Stage.JUNK
        and "wp-spam" in lead_of(source, purged).tags.names()
    )
    assert Submission.objects.get(source=source, external_id=str(kept)).upstream_status == "trash"
    assert_reconciled(source)
