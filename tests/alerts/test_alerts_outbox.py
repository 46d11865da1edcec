"""The outbox: exactly once, retries with backoff, the sweeper, Redis outages, quiet hours, digest, SLA."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from alerts import delivery, digests, matching, services, wakeup
from alerts.models import Breach, Notification
from crm import intake
from crm import services as crm_services
from crm.models import Lead, LeadEvent
from crm.signals import integration_failed, lead_event_recorded
from tests.alerts_support import *  # noqa: F403
from tests.alerts_support import run_jobs

pytestmark = pytest.mark.usefixtures("alerts_env")
Status = Notification.Status


@pytest.fixture
def breaches(django_capture_on_commit_callbacks):
    def check(now=None):
        with django_capture_on_commit_callbacks(execute=True):
            return services.check_breaches(now=now)

    return check


def make_due():
    """Let time pass for held and retried rows: their next attempt is now due."""
    past = timezone.now() - timedelta(seconds=1)
    Notification.objects.filter(next_attempt_at__isnull=False).update(next_attempt_at=past)


def sweep_and_run():
    wakeup.sweep()
    run_jobs()


def test_outbox_rows_are_written_in_the_events_transaction(alerts_env, make_rule, manager, brands):
    make_rule(trigger="new_lead", notify_brand_managers=True)
    with pytest.raises(RuntimeError):
        from django.db import transaction

        with transaction.atomic():
            intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name="Rolled back"))
            assert Notification.objects.count() == 1
            raise RuntimeError("abort")
    assert Notification.objects.count() == 0
    run_jobs()
    assert not alerts_env["smtp"].messages


def test_rerun_of_the_same_event_sends_once(
    alerts_env, make_rule, manager, new_lead, django_capture_on_commit_callbacks
):
    make_rule(trigger="new_lead", notify_brand_managers=True, send_whatsapp=True)
    manager.whatsapp = "+5491155551234"
    manager.save()
    lead = new_lead()
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.CREATED)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            lead_event_recorded.send(sender=LeadEvent, event=event)
        run_jobs()
        delivery.deliver(ids=list(Notification.objects.values_list("pk", flat=True)))
    wakeup.sweep(now=timezone.now() + timedelta(hours=1))
    run_jobs()
    assert Notification.objects.count() == 2
    assert len(alerts_env["smtp"].messages) == 1
    assert len(alerts_env["whatsapp"].requests) == 1


def test_transient_errors_retry_with_backoff_until_the_limit(alerts_env, make_rule, manager, new_lead):
    manager.whatsapp = "+5491155551234"
    manager.save()
    make_rule(trigger="new_lead", notify_brand_managers=True, send_email=False, send_whatsapp=True)
    alerts_env["whatsapp"].fail_next((429, 130429), (500, 131000))
    new_lead()
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts, notification.error_code) == (
        Status.PENDING,
        1,
        "130429",
    )
    first_delay = notification.next_attempt_at - timezone.now()

    sweep_and_run()  # not due yet
    notification.refresh_from_db()
    assert notification.attempts == 1

    make_due()
    sweep_and_run()
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.error_code) == (
        Status.PENDING,
        2,
        "131000",
    )
    assert notification.next_attempt_at - timezone.now() > first_delay

    make_due()
    sweep_and_run()
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.error_code) == (Status.SENT, 3, "")
    assert len(alerts_env["whatsapp"].requests) == 3
    sweep_and_run()
    assert len(alerts_env["whatsapp"].requests) == 3


def test_transient_errors_stop_after_the_configured_attempts(
    alerts_env, make_rule, manager, new_lead, settings
):
    settings.ALERTS_MAX_ATTEMPTS = 2
    manager.whatsapp = "+5491155551234"
    manager.save()
    make_rule(trigger="new_lead", notify_brand_managers=True, send_email=False, send_whatsapp=True)
    alerts_env["whatsapp"].fail_next((503, 503), (503, 503), (503, 503))
    new_lead()
    Notification.objects.update(next_attempt_at=timezone.now())
    delivery.deliver(ids=list(Notification.objects.values_list("pk", flat=True)))
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts, notification.error_code) == (Status.FAILED, 2, "503")
    wakeup.sweep(now=timezone.now() + timedelta(days=1))
    run_jobs()
    assert len(alerts_env["whatsapp"].requests) == 2


def test_delivery_after_redis_was_down(
    alerts_env, make_rule, manager, brands, settings, django_capture_on_commit_callbacks
):
    make_rule(trigger="new_lead", notify_brand_managers=True)
    working = (settings.REDIS_URL, settings.RQ_QUEUES)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.RQ_QUEUES = {
        name: {"URL": "redis://127.0.0.1:1/0", "ASYNC": True, "DEFAULT_TIMEOUT": 10}
        for name in ("high", "default", "low")
    }
    with django_capture_on_commit_callbacks(execute=True):
        lead = intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name="Ana"))
    wakeup.waker.flush()
    assert lead.pk  # the lead is safe although the queue is down
    assert Notification.objects.get().status == Status.PENDING
    assert wakeup.sweep(now=timezone.now() + timedelta(minutes=1)) == 1  # still down: stays pending
    assert Notification.objects.get().status == Status.PENDING
    assert not alerts_env["smtp"].messages

    settings.REDIS_URL, settings.RQ_QUEUES = working
    wakeup.sweep(now=timezone.now() + timedelta(minutes=1))
    run_jobs()
    assert Notification.objects.get().status == Status.SENT
    assert len(alerts_env["smtp"].messages) == 1


def test_worker_killed_mid_send_is_swept(alerts_env, make_rule, manager, new_lead):
    make_rule(trigger="new_lead", notify_brand_managers=True, send_email=True)
    lead = new_lead()
    alerts_env["smtp"].clear()
    Notification.objects.update(
        status=Status.SENDING, claimed_at=timezone.now() - timedelta(hours=1), sent_at=None
    )
    assert wakeup.sweep() == 1
    run_jobs()
    assert Notification.objects.get().status == Status.SENT
    assert len(alerts_env["smtp"].messages) == 1
    assert lead.pk


def test_quiet_hours_hold_until_morning(alerts_env, make_rule, manager, new_lead):
    now = timezone.localtime()
    start = (now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    make_rule(trigger="new_lead", notify_brand_managers=True, quiet_hours_start=start, quiet_hours_end=end)
    new_lead()
    notification = Notification.objects.get()
    assert notification.status == Status.PENDING
    assert notification.next_attempt_at > timezone.now() + timedelta(hours=1)
    assert timezone.localtime(notification.next_attempt_at).time() == end
    assert not alerts_env["smtp"].messages
    sweep_and_run()
    assert not alerts_env["smtp"].messages
    make_due()
    sweep_and_run()
    assert len(alerts_env["smtp"].messages) == 1


def test_quiet_hours_across_midnight():
    from types import SimpleNamespace

    spec = SimpleNamespace(quiet_start=time(21, 0), quiet_end=time(8, 0))
    night = timezone.make_aware(timezone.datetime(2026, 5, 4, 23, 30))
    early = timezone.make_aware(timezone.datetime(2026, 5, 5, 7, 0))
    noon = timezone.make_aware(timezone.datetime(2026, 5, 5, 12, 0))
    morning = timezone.make_aware(timezone.datetime(2026, 5, 5, 8, 0))
    assert matching.quiet_until(spec, night) == morning
    assert matching.quiet_until(spec, early) == morning
    assert matching.quiet_until(spec, noon) is None


def test_daily_digest_groups_held_alerts(alerts_env, make_rule, manager, new_lead):
    manager.whatsapp = "+5491155551234"
    manager.save()
    make_rule(trigger="new_lead", notify_brand_managers=True, send_whatsapp=True, delivery="digest")
    for name in ("Uno", "Dos", "Tres"):
        new_lead(contact_name=name)
    assert Notification.objects.filter(status=Status.DIGEST).count() == 6
    assert not alerts_env["smtp"].messages and not alerts_env["whatsapp"].requests
    assert digests.send_digests() == 6
    [email] = alerts_env["smtp"].messages
    body = email["message"].get_body(("plain",)).get_content()
    assert all(name in body for name in ("Uno", "Dos", "Tres"))
    [request] = alerts_env["whatsapp"].requests
    assert request["json"]["template"]["name"] == "lead_digest"
    assert request["json"]["template"]["components"][0]["parameters"][0]["text"] == "3"
    assert digests.send_digests() == 0
    assert Notification.objects.filter(status=Status.SENT).count() == 6


def test_sla_unassigned_alerts_once_per_breach(breaches, alerts_env, make_rule, manager, new_lead):
    make_rule(trigger="sla_unassigned", threshold=30, notify_brand_managers=True)
    lead = new_lead()
    assert breaches(now=timezone.now() + timedelta(minutes=10)) == 0
    later = timezone.now() + timedelta(minutes=31)
    assert breaches(now=later) == 1
    run_jobs()
    assert breaches(now=later + timedelta(minutes=1)) == 0
    run_jobs()
    assert len(alerts_env["smtp"].messages) == 1
    assert "30 minutes" in alerts_env["smtp"].messages[0]["message"]["Subject"]
    assert Breach.objects.filter(lead=lead).count() == 1


def test_sla_not_contacted_and_a_new_assignment_is_a_new_breach(
    breaches,
    alerts_env,
    make_rule,
    manager,
    employee,
    other_employee,
    new_lead,
    django_capture_on_commit_callbacks,
):
    make_rule(trigger="sla_not_contacted", threshold=2, notify_assignee=True)
    lead = new_lead()
    with django_capture_on_commit_callbacks(execute=True):
        crm_services.assign(lead, employee, manager)
    later = timezone.now() + timedelta(hours=3)
    assert breaches(now=later) == 1
    assert breaches(now=later) == 0
    run_jobs()  # delivered before the reassignment (afterwards employee1 may no longer see the lead)
    with django_capture_on_commit_callbacks(execute=True):
        crm_services.assign(lead, other_employee, manager)
    assert breaches(now=timezone.now() + timedelta(hours=3)) == 1
    run_jobs()
    recipients = sorted(address for message in alerts_env["smtp"].messages for address in message["to"])
    assert recipients == sorted([employee.email, other_employee.email])

    contacted = new_lead()
    with django_capture_on_commit_callbacks(execute=True):
        crm_services.assign(contacted, employee, manager)
        crm_services.log_contact_attempt(contacted, employee, "phone", "reached")
    assert breaches(now=timezone.now() + timedelta(hours=3)) == 0


def test_stale_lead_alerts_once(breaches, alerts_env, make_rule, manager, new_lead):
    make_rule(trigger="stale", threshold=7, notify_brand_managers=True)
    lead = new_lead()
    Lead.objects.filter(pk=lead.pk).update(last_activity_at=timezone.now() - timedelta(days=8))
    assert breaches() == 1
    assert breaches() == 0
    run_jobs()
    assert len(alerts_env["smtp"].messages) == 1


def test_integration_failure_alerts_admins_once_a_day(
    alerts_env, make_rule, admin_user, manager, django_capture_on_commit_callbacks
):
    make_rule(trigger="integration_failed", role="admin", send_whatsapp=False)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            integration_failed.send(
                sender=None,
                kind="wordpress_source",
                name="intralog.com.ar",
                error="HTTP 401 <b>Unauthorized</b>",
                admin_url="/admin/wordpress/sources/edit/1/",
            )
        run_jobs()
    [message] = alerts_env["smtp"].messages
    assert message["to"] == [admin_user.email]
    html = message["message"].get_body(("html",)).get_content()
    assert "&lt;b&gt;Unauthorized" in html
    assert "http://testserver/admin/wordpress/sources/edit/1/" in html


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rows_are_claimed_in_a_commit_of_their_own_before_they_are_sent(
    alerts_env, make_rule, manager, new_lead, monkeypatch
):
    # A WordPress sync commits pulled pages without waiting for the WAL flush. An alert about such a lead
    # goes out only after its claim has committed on its own, durably, and that flush (the WAL is written
    # in order) covers the lead's page too: no alert can be sent about a lead a server crash then loses.
    from django.db import connection

    make_rule(trigger="new_lead", notify_brand_managers=True)
    send = delivery.send_claimed
    seen = []

    def watched(ids, now, **options):
        statuses = set(Notification.objects.filter(pk__in=ids).values_list("status", flat=True))
        seen.append((connection.in_atomic_block, connection.get_autocommit(), statuses))
        return send(ids, now, **options)

    monkeypatch.setattr(delivery, "send_claimed", watched)
    new_lead()
    assert seen == [(False, True, {Status.SENDING})]
    assert Notification.objects.get().status == Status.SENT
    assert len(alerts_env["smtp"].messages) == 1
