"""Delivery over real HTTP to a receiver on 127.0.0.1: every event acknowledged exactly once through
refusals, dropped connections, timeouts and 500s; signatures; pause with the admins emailed; resume;
manual resend; a stopped worker's claim; a burst of 10,000 events."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from crm import services
from crm.intake import LeadData, create_lead, create_leads
from crm.models import Role, Source
from tests.webhooks_support import *  # noqa: F403
from tests.webhooks_support import deliver_until_done
from webhooks import sending
from webhooks.models import Attempt, Delivery, EventType, OutboxEvent, Subscription
from webhooks.services import deliver_due, resend, resume, send_test
from webhooks.signing import sign

pytestmark = pytest.mark.usefixtures("fast_webhooks")


def new_lead(brands, name="Ana Webhook", brand="intralog", **fields):
    return create_lead(
        LeadData(
            brand=brands[brand],
            contact_name=name,
            email=fields.pop("email", f"{name.split()[0].lower()}@example.com"),
            source=Source.objects.get(key="phone"),
            **fields,
        )
    )


def lead_story(brands, admin, rep, count=12):
    """Leads created, assigned, moved, some won and some lost: every kind of event."""
    for index in range(count):
        lead = new_lead(brands, f"Lead{index} Historia", email=f"lead{index}@example.com")
        services.assign(lead, rep, admin)
        services.change_status(lead, "contacted", admin)
        if index % 3 == 0:
            services.change_status(lead, "won", admin)
        elif index % 3 == 1:
            services.change_status(lead, "not_viable", admin, note="Sin presupuesto", lost_reason="price")


def test_a_failing_receiver_gets_every_event_exactly_once_after_it_recovers(
    brands, admin_user, employee, make_subscription, receiver
):
    fake = receiver(script=["drop", "drop", "slow", "slow", "500", "500", "500"])
    subscription = make_subscription(fake.url)
    fake.secret = subscription.secret
    lead_story(brands, admin_user, employee)
    expected = Delivery.objects.count()
    assert expected == OutboxEvent.objects.count() > 40

    assert sending.run_once(lambda subscription: None) == 1  # down: refused, the rest wait for a retry
    assert Attempt.objects.get().error.startswith("ConnectionError")
    fake.start()
    deliver_until_done()

    assert fake.bad_signatures == 0
    assert fake.seen_after_accept == 0
    assert len(fake.accepted) == expected
    assert set(fake.accepted.values()) == {1}
    assert set(fake.accepted) == {str(uid) for uid in Delivery.objects.values_list("uid", flat=True)}
    assert sum(fake.seen.values()) == expected + 7  # the refusal is not seen; 2 drops, 2 slow, 3 x 500 are
    errors = list(Attempt.objects.exclude(error="").values_list("status_code", flat=True))
    assert len(errors) == 8 and errors.count(500) == 3
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0 and subscription.paused_at is None
    types = {body["type"] for body in fake.bodies.values()}
    assert types == {value for value, _label in EventType.choices}


def test_the_body_and_signature_a_receiver_checks(brands, admin_user, make_subscription, receiver):
    fake = receiver()
    subscription = make_subscription(fake.url, events=[EventType.LEAD_WON])
    fake.secret = subscription.secret
    fake.start()
    lead = new_lead(brands)
    services.change_status(lead, "won", admin_user)
    deliver_until_done()
    [(uid, body)] = fake.bodies.items()
    delivery = Delivery.objects.get()
    assert uid == str(delivery.uid) == body["delivery_id"]
    assert body["type"] == "lead.won"
    assert body["lead"]["id"] == lead.pk
    assert body["lead"]["status"] == "won" and body["lead"]["stage"] == "won"
    assert body["lead"]["brand"] == "intralog"
    assert "email" not in body["lead"] and "contact_name" not in body["lead"]
    assert sign("wrong", "1", uid, b"{}") != sign(subscription.secret, "1", uid, b"{}")


def test_repeated_failures_pause_the_subscription_and_email_the_admins(
    brands, admin_user, make_subscription, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_PAUSE_AFTER_FAILURES = 3
    fake = receiver(script=["500"] * 50).start()
    subscription = make_subscription(fake.url, events=[EventType.LEAD_CREATED])
    fake.secret = subscription.secret
    new_lead(brands)
    new_lead(brands, "Beto Segundo")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            deliver_due()
            time.sleep(0.12)
    subscription.refresh_from_db()
    assert subscription.paused_at is not None
    assert subscription.consecutive_failures == 3
    assert "HTTP 500" in subscription.pause_reason
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [admin_user.email]
    assert "Receptor" in mail.outbox[0].subject
    # While paused nothing is sent, and nothing is lost.
    seen = sum(fake.seen.values())
    time.sleep(0.12)
    assert deliver_due() == 0
    assert sum(fake.seen.values()) == seen == 3
    fake.script.clear()
    resume(subscription)
    deliver_until_done()
    assert len(fake.accepted) == 2 and set(fake.accepted.values()) == {1}
    assert len(mail.outbox) == 1


def test_a_paused_subscription_still_queues_its_events(brands, make_subscription, receiver):
    fake = receiver().start()
    subscription = make_subscription(fake.url, paused_at=timezone.now())
    fake.secret = subscription.secret
    new_lead(brands)
    assert Delivery.objects.filter(subscription=subscription).count() == 1
    assert deliver_due() == 0
    resume(subscription)
    deliver_until_done()
    assert len(fake.accepted) == 1


def test_manual_resend_sends_again_under_the_same_delivery_id(brands, make_subscription, receiver):
    fake = receiver().start()
    subscription = make_subscription(fake.url, events=[EventType.LEAD_CREATED])
    fake.secret = subscription.secret
    new_lead(brands)
    deliver_until_done()
    delivery = Delivery.objects.get()
    assert resend(delivery)
    deliver_until_done()
    assert fake.accepted[str(delivery.uid)] == 2
    attempts = list(delivery.attempt_log.values_list("number", "manual"))
    assert attempts == [(1, False), (2, True)]


def test_a_stopped_workers_claim_runs_out_and_is_sent_again(brands, make_subscription, receiver, settings):
    fake = receiver().start()
    subscription = make_subscription(fake.url, events=[EventType.LEAD_CREATED])
    fake.secret = subscription.secret
    new_lead(brands)
    claimed = sending.claim(timezone.now() - timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS + 1))
    assert len(claimed) == 1
    assert sending.claim(timezone.now()) == []  # claimed: no other worker takes it
    deliver_until_done()
    assert len(fake.accepted) == 1


def test_a_test_event_goes_to_one_subscription(make_subscription, receiver):
    fake = receiver().start()
    subscription = make_subscription(fake.url)
    other = make_subscription(fake.url, name="Otro")
    fake.secret = subscription.secret
    send_test(subscription)
    deliver_until_done()
    assert not Delivery.objects.filter(subscription=other).exists()
    [body] = fake.bodies.values()
    assert body["type"] == "webhook.test" and body["lead"] is None


def test_an_inactive_subscription_is_neither_queued_nor_sent(brands, make_subscription, receiver):
    fake = receiver().start()
    make_subscription(fake.url, is_active=False)
    new_lead(brands)
    assert not Delivery.objects.exists()


def test_the_commit_wakes_a_delivery_run(
    brands, make_subscription, receiver, settings, django_capture_on_commit_callbacks
):
    """Without Redis, the job queued at commit runs in-process: the lead's event is delivered at once."""
    settings.WEBHOOKS_WAKE_UP = True
    if settings.REDIS_URL:
        pytest.skip("with Redis the job waits for a worker")
    fake = receiver().start()
    subscription = make_subscription(fake.url, events=[EventType.LEAD_CREATED])
    fake.secret = subscription.secret
    with django_capture_on_commit_callbacks(execute=True):
        new_lead(brands)
    assert len(fake.accepted) == 1


BURST = 10_000


def _burst(brands):
    source = Source.objects.get(key="web_form")
    for start in range(0, BURST, 1000):
        drafts = [
            LeadData(
                brand=brands["intralog" if index % 2 else "intrapal"],
                contact_name=f"Rafaga {index}",
                email=f"rafaga{index}@example.com",
                source=source,
                external_source="burst",
                external_id=str(index),
            )
            for index in range(start, start + 1000)
        ]
        create_leads(drafts)


def _assert_all_once(fake):
    uids = {str(uid) for uid in Delivery.objects.values_list("uid", flat=True)}
    assert len(uids) == BURST
    assert set(fake.accepted) == uids  # 0 lost
    assert set(fake.accepted.values()) == {1}  # 0 duplicated
    assert fake.seen_after_accept == 0 and fake.bad_signatures == 0
    assert not Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists()


def test_a_burst_of_ten_thousand_events_is_delivered_once_each(brands, make_subscription, receiver):
    fake = receiver(script=["500"] * 3 + ["slow"]).start()
    subscription = make_subscription(fake.url, events=[EventType.LEAD_CREATED])
    fake.secret = subscription.secret
    _burst(brands)
    assert Delivery.objects.count() == BURST
    deliver_until_done(timeout=600)
    _assert_all_once(fake)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_workers_share_a_burst_without_sending_twice(brands, make_subscription, receiver):
    """Three workers with their own connections claim with SKIP LOCKED: disjoint batches, none lost."""
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    fake = receiver(script=["500"] * 2).start()
    first = make_subscription(fake.url, events=[EventType.LEAD_CREATED], brands=[brands["intralog"]])
    second = make_subscription(
        fake.url, events=[EventType.LEAD_CREATED], brands=[brands["intrapal"]], name="B"
    )
    second.secret = first.secret
    second.save()
    fake.secret = first.secret
    _burst(brands)
    errors = []

    def work():
        try:
            deliver_until_done(timeout=600)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_all_once(fake)
    assert Subscription.objects.filter(paused_at__isnull=False).count() == 0
    assert Role.ADMIN


def test_old_delivered_events_are_purged_and_waiting_ones_kept(make_subscription, receiver):
    from webhooks.services import purge_delivered

    fake = receiver().start()
    subscription = make_subscription(fake.url)
    fake.secret = subscription.secret
    send_test(subscription)
    deliver_until_done()
    waiting = send_test(subscription)
    later = timezone.now() + timedelta(days=31)
    assert purge_delivered(later) == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [waiting.pk]
    assert not Attempt.objects.exists()
