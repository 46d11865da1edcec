"""The deployment's RQ worker (``core.worker.Worker``): jobs run in its own process, one database
connection serves job after job, and a connection a job left broken is replaced before the next."""

import os

import pytest
from django.db import connection
from django_rq.workers import get_worker_class

from core.worker import Worker


def run(queue, *names):
    enqueued = [queue.enqueue(f"tests.core.jobs_support.{name}") for name in names]
    Worker([queue], connection=queue.connection).work(burst=True)
    for job in enqueued:
        job.refresh()
    return enqueued


def test_the_worker_command_uses_it():
    assert get_worker_class() is Worker


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_jobs_run_in_the_worker_process_on_one_connection(low_queue, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    first, second = run(low_queue, "process_and_connection", "process_and_connection")
    assert first.is_finished and second.is_finished
    assert first.return_value()[0] == second.return_value()[0] == os.getpid()
    assert first.return_value()[1] == second.return_value()[1]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="an in-memory SQLite test database lives in its connection: Django never closes it",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_broken_connection_is_replaced_before_the_next_job(low_queue):
    broken, counted = run(low_queue, "break_connection", "count_leads")
    assert broken.is_finished
    assert counted.is_finished, counted.latest_result().exc_string
    assert counted.return_value() == 0
