"""Kept WhatsApp bodies read in batches: a job reads its own body with the others waiting, in the order they
came, each message once, and their jobs then find them read; a batch that fails is read one by one, and a
body that fails holds up no other (it stays pending with its reason, and no batch takes it again). On
PostgreSQL, workers reading batches at once store each message once, and a batch claimed later waits for
an earlier one sharing a sender (a lead's messages stay in order)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Notification, Trigger
from conversations import inbound as webhooks
from conversations import reading
from conversations.models import Conversation, Message, WebhookDelivery
from crm import services as crm_services
from crm.models import Lead, LeadEvent
from tests.conversations_support import *  # noqa: F403
from tests.conversations_support import inbound, post_webhook, text_message

pytestmark = pytest.mark.usefixtures("whatsapp_env")

OTHER_PHONE = "+5491155559876"
NEW_PHONE = "+5493514567890"


@pytest.fixture
def kept(client, monkeypatch):
    """Post signed bodies that are kept and left pending (no job is enqueued); returns their ids."""
    monkeypatch.setattr(webhooks, "_enqueue", lambda delivery_id: None)

    def post(*payloads):
        ids = []
        for payload in payloads:
            response = post_webhook(client, payload)
            assert response.status_code == 200
            ids.append(response.json()["delivery"])
        return ids

    return post


def bodies(lead):
    return list(Message.objects.filter(lead=lead).values_list("body", flat=True))


def timeline(lead):
    events = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.MESSAGE_RECEIVED)
    return list(reversed(events.values_list("note", flat=True)))


def test_one_job_reads_the_bodies_waiting_in_order_and_their_jobs_then_find_them_read(
    make_lead, employee, other_employee, kept
):
    ana = make_lead(assignee=employee)
    beto = make_lead("Beto Otro", assignee=other_employee, phone=OTHER_PHONE)
    repeated = text_message("Otra vez", message_id="wamid.twice")
    ids = kept(
        inbound(text_message("uno")),
        inbound(text_message("a Beto", sender=OTHER_PHONE), name="Beto"),
        inbound(repeated),
        inbound(text_message("dos"), text_message("tres")),
        inbound(repeated, name="Otro sobre"),  # the same message in a new envelope
        inbound(text_message("Hola, soy nuevo", sender=NEW_PHONE), name="Nuevo"),
        inbound(text_message("¿Me leen?", sender=NEW_PHONE), name="Nuevo"),
        inbound(text_message("¿Quién?"), phone_number_id="4242"),
    )

    delivery = webhooks.process_delivery(ids[0])

    assert (delivery.pk, delivery.state) == (ids[0], "processed")
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.pk for d in deliveries] == ids
    assert [d.state for d in deliveries] == ["processed"] * 7 + ["ignored"]
    assert [(d.result["messages"], d.result["repeats"], d.result["leads"]) for d in deliveries] == [
        (1, 0, 0),
        (1, 0, 0),
        (1, 0, 0),
        (2, 0, 0),
        (0, 1, 0),
        (1, 0, 1),
        (1, 0, 0),
        (0, 0, 0),
    ]
    assert deliveries[-1].reason == "unknown_phone_number_id:4242"
    assert len({d.processed_at for d in deliveries}) == 1, "one transaction, one commit"
    new = Lead.objects.get(phone_e164=NEW_PHONE)
    assert (new.contact_name, new.source.key) == ("Nuevo", "whatsapp")
    assert bodies(ana) == timeline(ana) == ["uno", "Otra vez", "dos", "tres"]
    assert bodies(beto) == timeline(beto) == ["a Beto"]
    assert bodies(new) == timeline(new) == ["Hola, soy nuevo", "¿Me leen?"]
    assert Conversation.objects.count() == 3
    assert Conversation.objects.get(lead=ana).last_inbound_at is not None
    alerts = Notification.objects.filter(trigger=Trigger.MESSAGE_RECEIVED, channel="whatsapp")
    assert sorted(alerts.values_list("lead_id", flat=True)) == [ana.pk] * 4 + [beto.pk]

    with CaptureQueriesContext(connection) as queries:
        assert [webhooks.process_delivery(pk) for pk in ids] == [None] * len(ids)
    assert len(queries) == len(ids), "a job whose body was read ends after one query"
    assert Message.objects.count() == 7
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.MESSAGE_RECEIVED).count() == 7
    assert webhooks.process_pending() == 0


def test_a_burst_is_read_in_about_as_many_queries_as_a_few_bodies(make_lead, employee, other_employee, kept):
    leads = [make_lead(assignee=employee), make_lead("Beto Otro", assignee=other_employee, phone=OTHER_PHONE)]

    def read(count):
        ids = kept(
            *(inbound(text_message(f"{count}: {i}", sender=leads[i % 2].phone_e164)) for i in range(count))
        )
        with CaptureQueriesContext(connection) as queries:
            webhooks.process_delivery(ids[0])
        assert WebhookDelivery.objects.filter(pk__in=ids, state="processed").count() == count
        return len(queries)

    few, burst = read(3), read(40)
    assert burst <= few + 3, (few, burst)
    assert Message.objects.count() == 43
    assert bodies(leads[0])[-2:] == ["40: 36", "40: 38"]


def test_a_job_takes_its_own_body_and_the_oldest_others_up_to_the_batch_size(make_lead, kept, monkeypatch):
    monkeypatch.setattr(webhooks, "BATCH", 3)
    lead = make_lead()
    ids = kept(*(inbound(text_message(f"m{i}")) for i in range(6)))
    assert set(webhooks.read_batch(ids[4])) == {ids[0], ids[1], ids[4]}
    assert bodies(lead) == ["m0", "m1", "m4"], "in the order they came"
    assert webhooks.process_delivery(ids[1]) is None
    assert set(webhooks.read_batch(ids[3])) == {ids[2], ids[3], ids[5]}
    assert bodies(lead) == ["m0", "m1", "m4", "m2", "m3", "m5"]


@pytest.fixture
def unreadable(monkeypatch):
    """Reading a message whose text is "💥" fails; returns the ids of the messages that failed
    (``restore()``: it reads again)."""
    real = reading.read_content

    class Failures(list):
        def restore(self):
            monkeypatch.setattr(reading, "read_content", real)

    failures = Failures()

    def read_content(message):
        if (message.get("text") or {}).get("body") == "💥":
            failures.append(message["id"])
            raise RuntimeError("unreadable")
        return real(message)

    monkeypatch.setattr(reading, "read_content", read_content)
    return failures


def test_a_body_that_fails_holds_up_no_other_and_no_batch_takes_it_again(make_lead, kept, unreadable):
    lead = make_lead()
    first, bad, last = kept(
        inbound(text_message("antes")), inbound(text_message("💥")), inbound(text_message("después"))
    )

    assert webhooks.process_delivery(first).state == "processed"

    assert bodies(lead) == ["antes", "después"]
    assert WebhookDelivery.objects.get(pk=last).state == "processed"
    failed = WebhookDelivery.objects.get(pk=bad)
    assert (failed.state, failed.reason) == ("pending", "read_failed:RuntimeError")
    assert len(unreadable) == 2, "in the batch, then alone"
    with pytest.raises(RuntimeError):
        webhooks.process_delivery(bad)  # its own job fails, as before
    (later,) = kept(inbound(text_message("más tarde")))
    assert webhooks.process_delivery(later).state == "processed"
    assert len(unreadable) == 3, "the later job's batch left the failed body out"
    assert WebhookDelivery.objects.get(pk=bad).state == "pending"

    unreadable.restore()
    WebhookDelivery.objects.filter(pk=bad).update(received_at=timezone.now() - timedelta(minutes=2))
    assert webhooks.process_pending() == 1
    failed.refresh_from_db()
    assert (failed.state, failed.reason, failed.result["messages"]) == ("processed", "", 1)
    assert bodies(lead) == ["antes", "después", "más tarde", "💥"]
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.MESSAGE_RECEIVED).count() == 4


def test_a_job_whose_own_body_fails_reads_the_others_first_and_the_sweeper_goes_past_it(
    make_lead, kept, unreadable
):
    lead = make_lead()
    bad, good = kept(inbound(text_message("💥")), inbound(text_message("bien")))
    with pytest.raises(RuntimeError):
        webhooks.process_delivery(bad)
    assert bodies(lead) == ["bien"]
    assert WebhookDelivery.objects.get(pk=bad).reason == "read_failed:RuntimeError"

    (old,) = kept(inbound(text_message("viejo")))
    WebhookDelivery.objects.filter(pk__in=[bad, old]).update(
        received_at=timezone.now() - timedelta(minutes=2)
    )
    assert webhooks.process_pending() == 1, "the failing body is logged, the next one read"
    assert bodies(lead) == ["bien", "viejo"]
    assert WebhookDelivery.objects.get(pk=bad).state == "pending"


def test_a_batch_that_fails_as_a_whole_is_read_one_by_one_each_message_once(
    make_lead, employee, kept, monkeypatch
):
    lead = make_lead(assignee=employee)
    real = crm_services.receive_messages

    def only_alone(received):
        if len(received) > 1:
            raise IntegrityError("as if a concurrent writer got there first")
        return real(received)

    monkeypatch.setattr(crm_services, "receive_messages", only_alone)
    ids = kept(*(inbound(text_message(f"m{i}")) for i in range(4)))

    assert webhooks.process_delivery(ids[0]).state == "processed"

    assert (
        list(WebhookDelivery.objects.order_by("pk").values_list("state", "reason")) == [("processed", "")] * 4
    )
    assert bodies(lead) == timeline(lead) == ["m0", "m1", "m2", "m3"]
    assert Conversation.objects.count() == 1
    assert Notification.objects.filter(trigger=Trigger.MESSAGE_RECEIVED, channel="whatsapp").count() == 4


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row and advisory locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_reading_batches_at_once_store_each_message_once(make_lead, employee, kept, monkeypatch):
    monkeypatch.setattr(webhooks, "BATCH", 5)
    senders = [f"+54911555{index:05d}" for index in range(4)]
    leads = [
        make_lead(f"Lead {index}", assignee=employee, phone=phone) for index, phone in enumerate(senders)
    ]
    posts = []
    for index in range(48):
        message = text_message(f"m{index}", sender=senders[index % 4], message_id=f"wamid.burst-{index}")
        posts.append(inbound(message))
        if index % 3 == 0:
            posts.append(inbound(message, name="Otro sobre"))  # read by another worker at the same time
    ids = kept(*posts)
    workers = 4
    barrier = threading.Barrier(workers)
    errors = []

    def work(share):
        try:
            barrier.wait()
            for pk in share:
                webhooks.process_delivery(pk)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(ids[index::workers],)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert not WebhookDelivery.objects.exclude(state="processed").exists()
    assert WebhookDelivery.objects.filter(reason__startswith="read_failed").count() == 0
    stored = list(Message.objects.values_list("provider_id", flat=True))
    assert sorted(stored) == sorted(f"wamid.burst-{index}" for index in range(48))
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.MESSAGE_RECEIVED).count() == 48
    for lead in leads:
        assert len(bodies(lead)) == 12


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row and advisory locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_claimed_later_waits_for_an_earlier_one_sharing_a_sender(
    make_lead, employee, kept, monkeypatch
):
    monkeypatch.setattr(webhooks, "BATCH", 5)
    lead = make_lead(assignee=employee)
    senders = [f"+54911555{index:05d}" for index in range(4)]
    for index, phone in enumerate(senders):
        make_lead(f"Lead {index}", assignee=employee, phone=phone)
    ids = kept(
        inbound(text_message("primero")),
        *(inbound(text_message("hola", sender=phone)) for phone in senders),
        inbound(text_message("segundo")),
    )
    claimed = threading.Event()
    real = reading.parse

    def slow_parse(delivery, numbers):
        # The big batch, claimed first, is slow to get to its senders' locks.
        if threading.current_thread().name == "first" and not claimed.is_set():
            claimed.set()
            time.sleep(0.5)
        return real(delivery, numbers)

    monkeypatch.setattr(reading, "parse", slow_parse)
    errors = []

    def read(delivery_id, wait=None):
        try:
            if wait is not None:
                assert wait.wait(10)
            webhooks.process_delivery(delivery_id)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    first = threading.Thread(target=read, args=(ids[0],), name="first")
    second = threading.Thread(target=read, args=(ids[-1], claimed), name="second")
    for thread in (first, second):
        thread.start()
    for thread in (first, second):
        thread.join()

    assert errors == []
    assert not WebhookDelivery.objects.exclude(state="processed").exists()
    assert bodies(lead) == timeline(lead) == ["primero", "segundo"]
