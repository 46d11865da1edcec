"""A webhook job reads its source's waiting bodies together: each once, a repeated entry in order, a bad
body on its own, an erased person's body not kept."""

import json
import threading

import pytest
from django.db import connection, transaction

from crm import tombstones
from crm.models import Lead, Tombstone
from tests.threads import in_thread
from tests.wordpress.test_wordpress_webhooks import signed_headers, signed_url
from tests.wordpress.test_wordpress_webhooks import source as source  # noqa: PLC0414 - the fixture
from wordpress import webhooks
from wordpress.jobs import process_delivery_job
from wordpress.models import Submission, WebhookDelivery


@pytest.fixture
def held_jobs(monkeypatch):
    """The webhook's jobs, held back as a busy queue would, to be run later in order."""
    held = []
    monkeypatch.setattr("wordpress.webhooks.enqueue", lambda name, *args, **kwargs: held.append(args[0]))
    return held


@pytest.fixture
def deliver(client, source, django_capture_on_commit_callbacks):  # noqa: F811
    def send(delivery, payload):
        body = json.dumps(payload).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                signed_url(source),
                data=body,
                content_type="application/json",
                headers=signed_headers(source, body, delivery),
            )
        assert response.status_code == 202
        return response.json()

    return send


def with_row_locks(test):
    """A test of concurrent workers: real transactions on PostgreSQL."""
    for mark in (
        pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
        pytest.mark.django_db(transaction=True, serialized_rollback=True),
        pytest.mark.postgres,
    ):
        test = mark(test)
    return test


def entry(number, email, form_id=7, **fields):
    return {"form_id": form_id, "id": number, "fields": {"Email": email, **fields}}


def test_one_job_reads_every_waiting_body_and_the_others_find_nothing(
    deliver, held_jobs, django_assert_max_num_queries
):
    for number in range(1, 13):
        deliver(f"d-{number}", entry(100 + number, f"p{number}@example.com", form_id=3 if number % 3 else 7))
    assert len(held_jobs) == 12 and not Lead.objects.exists()

    with django_assert_max_num_queries(80):
        read = process_delivery_job(held_jobs[0])
    assert sorted(read) == sorted(held_jobs)
    assert [process_delivery_job(pk) for pk in held_jobs[1:]] == [[]] * 11
    assert Lead.objects.count() == 12
    assert sorted(Lead.objects.values_list("email", flat=True)) == sorted(
        f"p{n}@example.com" for n in range(1, 13)
    )
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {
        (WebhookDelivery.State.PROCESSED, 1)
    }
    assert Submission.objects.filter(state=Submission.State.STORED).count() == 12


def test_a_job_reads_at_most_a_batch(deliver, held_jobs, settings):
    settings.WORDPRESS_WEBHOOK_BATCH = 4
    for number in range(1, 11):
        deliver(f"d-{number}", entry(200 + number, f"q{number}@example.com"))
    assert len(process_delivery_job(held_jobs[-1])) == 4
    assert WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).count() == 6
    assert WebhookDelivery.objects.get(pk=held_jobs[-1]).state == WebhookDelivery.State.PROCESSED
    for pk in held_jobs:
        process_delivery_job(pk)
    assert Lead.objects.count() == 10
    assert not WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).exists()


def test_an_entry_sent_twice_is_read_in_order(deliver, held_jobs):
    deliver("d-1", entry(301, "first@example.com", Empresa="Primera SA"))
    deliver("d-2", entry(301, "first@example.com", Empresa="Segunda SA"))
    deliver("d-3", entry(302, "other@example.com"))
    read = process_delivery_job(held_jobs[0])
    assert sorted(read) == sorted(held_jobs)
    assert Lead.objects.count() == 2
    submission = Submission.objects.get(external_id="301")
    assert submission.payload["fields"]["Empresa"] == "Segunda SA"
    assert submission.lead_id == Lead.objects.get(external_id="301").pk


def test_a_bad_body_fails_alone_and_the_others_are_read(deliver, held_jobs, monkeypatch):
    store_page = webhooks.store_page

    def failing_on_poison(site, form, records, **kwargs):
        if any(item["fields"].get("Email") == "poison@example.com" for item in records):
            raise RuntimeError("database hiccup")
        return store_page(site, form, records, **kwargs)

    monkeypatch.setattr("wordpress.webhooks.store_page", failing_on_poison)
    deliver("d-1", entry(401, "fine@example.com"))
    deliver("d-2", entry(402, "poison@example.com"))
    deliver("d-3", entry(403, "also-fine@example.com"))

    read = process_delivery_job(held_jobs[0])
    assert sorted(read) == [held_jobs[0], held_jobs[2]]
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "also-fine@example.com",
        "fine@example.com",
    ]
    poison = WebhookDelivery.objects.get(pk=held_jobs[1])
    assert poison.state == WebhookDelivery.State.PENDING and poison.attempts == 1
    assert "database hiccup" in poison.error

    monkeypatch.setattr("wordpress.webhooks.store_page", store_page)
    assert process_delivery_job(held_jobs[1]) == [held_jobs[1]]
    assert Lead.objects.filter(email="poison@example.com").count() == 1


def test_the_job_of_a_bad_body_fails_so_the_queue_records_it(deliver, held_jobs, monkeypatch):
    monkeypatch.setattr("wordpress.webhooks.store_page", lambda *args, **kwargs: 1 / 0)
    deliver("d-1", entry(501, "a@example.com"))
    with pytest.raises(ZeroDivisionError):
        process_delivery_job(held_jobs[0])
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.PENDING and delivery.attempts == 1


def test_an_erased_persons_body_is_not_kept_the_others_are(deliver, held_jobs):
    tombstones.bury([], {tombstones.digest(Tombstone.Kind.EMAIL, "gone@example.com"): Tombstone.Kind.EMAIL})
    deliver("d-1", entry(601, "kept@example.com"))
    deliver("d-2", entry(602, "gone@example.com"))
    assert len(process_delivery_job(held_jobs[0])) == 2
    kept, gone = WebhookDelivery.objects.order_by("pk")
    assert bytes(kept.body) and bytes(gone.body) == b""
    assert list(Lead.objects.values_list("email", flat=True)) == ["kept@example.com"]


@with_row_locks
def test_a_body_held_by_another_worker_is_left_to_it(deliver, held_jobs):
    """The batch skips a body another worker holds (and does not lock the source it joins)."""
    for number in range(1, 6):
        deliver(f"d-{number}", entry(700 + number, f"r{number}@example.com"))
    busy, released = threading.Event(), threading.Event()

    def hold(pk):
        with transaction.atomic():
            WebhookDelivery.objects.select_for_update().select_related("source").get(pk=pk)
            busy.set()
            released.wait(10)

    thread, _result = in_thread(hold, held_jobs[2])
    busy.wait(10)
    try:
        read = process_delivery_job(held_jobs[0])
    finally:
        released.set()
        thread.join()
    assert sorted(read) == sorted(set(held_jobs) - {held_jobs[2]})
    assert WebhookDelivery.objects.get(pk=held_jobs[2]).state == WebhookDelivery.State.PENDING
    assert process_delivery_job(held_jobs[2]) == [held_jobs[2]]
    assert Lead.objects.count() == 5


@with_row_locks
def test_two_workers_at_once_read_each_body_once(deliver, held_jobs):
    for number in range(1, 41):
        deliver(f"d-{number}", entry(800 + number, f"s{number}@example.com"))
    first, first_result = in_thread(lambda: [process_delivery_job(pk) for pk in held_jobs[::2]])
    second, second_result = in_thread(lambda: [process_delivery_job(pk) for pk in held_jobs[1::2]])
    first.join()
    second.join()
    assert "error" not in first_result and "error" not in second_result
    read = [pk for batch in first_result["value"] + second_result["value"] for pk in batch]
    assert sorted(read) == sorted(held_jobs)
    assert Lead.objects.count() == 40
    assert not WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).exists()
