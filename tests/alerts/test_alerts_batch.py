"""Bulk paths of the outbox: the batch signal of bulk lead writes, and draining by batches exactly once."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from alerts import delivery, outbox, rules, services, wakeup
from alerts.models import Notification
from core.jobs import get_queue
from crm import intake
from crm import services as crm_services
from crm.models import LeadEvent, PipelineStatus
from crm.signals import lead_events_recorded
from tests.alerts_support import *  # noqa: F403
from tests.alerts_support import run_jobs
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from tests.threads import in_thread

Status = Notification.Status


def quiet_lead(brands, name, brand_code="intralog", **fields):
    return intake.create_lead(intake.LeadData(brand=brands[brand_code], contact_name=name, **fields))


@pytest.fixture
def saved_events(alerts_env, settings, brands, manager, other_manager, employee):
    """Leads, an assignment and a status change written with alerts off; their events, leads attached."""
    settings.ALERTS_ENABLED = False
    leads = [quiet_lead(brands, f"Batch {n}") for n in range(3)]
    leads.append(quiet_lead(brands, "Batch intrapal", "intrapal"))
    leads.append(quiet_lead(brands, "Batch muted"))
    leads[-1].skip_alerts = True
    leads[-1].save(update_fields=["skip_alerts"])
    crm_services.assign(leads[0], employee, manager)
    crm_services.change_status(leads[1], PipelineStatus.objects.get(key="contacted"), manager)
    crm_services.change_status(leads[2], PipelineStatus.objects.get(key="quoted"), manager)
    settings.ALERTS_ENABLED = True
    events = list(LeadEvent.objects.filter(lead__in=leads).select_related("lead").order_by("pk"))
    for event in events:
        event.lead.refresh_from_db()
    return leads, events


def send_batch(events, capture):
    with capture(execute=True):
        lead_events_recorded.send(sender=LeadEvent, events=events)
    run_jobs()


def test_batch_receiver_builds_every_events_outbox_in_one_insert(
    saved_events,
    make_rule,
    manager,
    other_manager,
    employee,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
    alerts_env,
):
    leads, events = saved_events
    manager.whatsapp, other_manager.whatsapp = "+5491155551234", "+5491155554321"
    manager.save()
    other_manager.save()
    make_rule("new", "new_lead", notify_brand_managers=True, send_whatsapp=True)
    make_rule("assigned", "assigned", notify_assignee=True)
    make_rule("contacted", "status_changed", statuses=["contacted"], users=[manager])
    snapshot = rules.current()

    with django_capture_on_commit_callbacks(execute=False) as callbacks, django_assert_num_queries(1):
        services.on_lead_events(sender=LeadEvent, events=events)
    assert rules.current() is snapshot
    assert len(callbacks) == 1

    expected = {
        *(
            (lead.pk, "new_lead", manager.pk, channel)
            for lead in leads[:3]
            for channel in ("email", "whatsapp")
        ),
        *((leads[3].pk, "new_lead", other_manager.pk, channel) for channel in ("email", "whatsapp")),
        (leads[0].pk, "assigned", employee.pk, "email"),
        (leads[1].pk, "status_changed", manager.pk, "email"),
    }
    rows = set(Notification.objects.values_list("lead_id", "trigger", "recipient_id", "channel"))
    assert rows == expected
    assert all(n.event.lead_id == n.lead_id for n in Notification.objects.select_related("event"))

    callbacks[0]()
    run_jobs()
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(alerts_env["smtp"].messages) == 6
    assert len(alerts_env["whatsapp"].requests) == 4

    send_batch(events, django_capture_on_commit_callbacks)  # the signal, as the bulk write paths send it
    assert Notification.objects.count() == len(expected)
    assert len(alerts_env["smtp"].messages) == 6
    assert len(alerts_env["whatsapp"].requests) == 4


def test_batch_signal_writes_the_outbox_with_alerts_on_and_a_matching_rule(
    saved_events,
    make_rule,
    settings,
    manager,
    other_manager,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    leads, events = saved_events
    rules.current()
    with django_assert_num_queries(0):
        services.on_lead_events(sender=LeadEvent, events=events)
    make_rule("new", "new_lead", notify_brand_managers=True)
    settings.ALERTS_ENABLED = False
    send_batch(events, django_capture_on_commit_callbacks)
    assert not Notification.objects.exists()
    settings.ALERTS_ENABLED = True
    send_batch(events, django_capture_on_commit_callbacks)
    assert set(Notification.objects.values_list("lead_id", "recipient_id", "status")) == {
        *((lead.pk, manager.pk, Status.SENT) for lead in leads[:3]),
        (leads[3].pk, other_manager.pk, Status.SENT),
    }


def test_rows_whose_rule_was_deleted_meanwhile_are_skipped_not_stuck(
    make_rule, manager, alerts_env, settings, django_capture_on_commit_callbacks
):
    rule = make_rule("new", "new_lead", notify_brand_managers=True)
    settings.ALERTS_DRAIN_BATCHES = 0
    with django_capture_on_commit_callbacks(execute=False):
        lead = intake.create_lead(intake.LeadData(brand=manager.brands.first(), contact_name="Orphan"))
    notification = Notification.objects.get(lead=lead)
    rule.delete()  # the ORM cascade misses nothing here; emulate a row committed after it ran
    Notification.objects.bulk_create([notification])
    assert delivery.deliver(ids=[notification.pk]) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.error_code) == (Status.SKIPPED, "gone")
    assert str(notification.get_error_display()) == "The rule, the lead or the recipient was deleted."
    assert not alerts_env["smtp"].messages


@pytest.fixture
def pending_rows(alerts_env, make_rule, brands, manager, admin_user):
    """40 pending rows (10 leads × manager email and WhatsApp, admin email and WhatsApp), none sent yet."""
    for number, user in enumerate((manager, admin_user)):
        user.whatsapp = f"+5491155550{101 + number}"
        user.save()
    make_rule("managers", "new_lead", notify_brand_managers=True, send_whatsapp=True)
    make_rule("admins", "new_lead", role="admin", send_whatsapp=True)
    for n in range(10):
        quiet_lead(brands, f"Concurrent {n}")
    wakeup.waker.flush()
    get_queue(settings.ALERTS_QUEUE).empty()
    wakeup.clear_wake_flag()
    assert Notification.objects.filter(status=Status.PENDING).count() == 40
    return alerts_env


@pytest.mark.usefixtures("pending_rows")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_claim_skips_rows_another_open_claim_holds():
    holding, release = threading.Event(), threading.Event()

    def claim_and_hold():
        with transaction.atomic():
            ids = outbox.claim(timezone.now(), limit=15)
            holding.set()
            release.wait(10)
        return ids

    first, first_result = in_thread(claim_and_hold)
    assert holding.wait(10)
    second, second_result = in_thread(outbox.claim, timezone.now())
    second.join(5)
    blocked = second.is_alive()
    release.set()
    first.join(10)
    second.join(10)
    assert not blocked, "the second claim waited for the first one's row locks"
    first_ids, second_ids = first_result["value"], second_result["value"]
    assert len(first_ids) == 15 and len(second_ids) == 25
    assert not set(first_ids) & set(second_ids)
    assert Notification.objects.filter(status=Status.SENDING).count() == 40


@pytest.mark.usefixtures("pending_rows")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_drains_at_once_send_every_row_exactly_once(pending_rows, settings):
    settings.ALERTS_SEND_THREADS = 2
    barrier = threading.Barrier(2)
    original = outbox.claim

    def small_claims(now, **kwargs):
        kwargs["limit"] = 3
        return original(now, **kwargs)

    outbox.claim = small_claims
    try:

        def drain():
            barrier.wait(10)
            return delivery.deliver()

        threads = [in_thread(drain) for _ in range(2)]
        for thread, _result in threads:
            thread.join(60)
    finally:
        outbox.claim = original
    results = [result for _thread, result in threads]
    assert all("error" not in result for result in results), results
    assert sum(result["value"] for result in results) == 40
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}
    whatsapp = [
        (r["json"]["to"], r["json"]["template"]["components"][0]["parameters"][2]["text"])
        for r in pending_rows["whatsapp"].requests
    ]
    emails = [(tuple(m["to"]), m["message"]["Subject"]) for m in pending_rows["smtp"].messages]
    assert len(whatsapp) == len(set(whatsapp)) == 20
    assert len(emails) == len(set(emails)) == 20


@pytest.fixture
def recent_wp():
    """A site whose submissions were made within the last hour (older ones are a backfill: no alerts)."""
    from wordpress.fake import FakeWordPress

    site = FakeWordPress(forms={"3": 12}, seed=7, start=timezone.now() - timedelta(hours=1))
    site.start()
    yield site
    site.stop()


def test_leads_synced_from_wordpress_alert_once(
    recent_wp, make_source, fast_retries, make_rule, manager, alerts_env, django_capture_on_commit_callbacks
):
    from crm.models import Lead, Stage
    from wordpress.sync import sync_source

    make_rule("new", "new_lead", notify_brand_managers=True)
    source = make_source(recent_wp, "collection", forms=(("3", "intralog"),))
    with django_capture_on_commit_callbacks(execute=True):
        sync_source(source)
    run_jobs()
    synced = Lead.objects.filter(external_source=source.external_key)
    alerted = set(synced.exclude(status__stage=Stage.JUNK).values_list("pk", flat=True))
    assert synced.count() == 12 and alerted
    assert set(Notification.objects.values_list("lead_id", flat=True)) == alerted
    assert set(Notification.objects.values_list("recipient_id", "status")) == {(manager.pk, Status.SENT)}
    assert len(alerts_env["smtp"].messages) == len(alerted)

    with django_capture_on_commit_callbacks(execute=True):
        sync_source(source, full=True)
    run_jobs()
    assert Notification.objects.count() == len(alerted)
    assert len(alerts_env["smtp"].messages) == len(alerted)
