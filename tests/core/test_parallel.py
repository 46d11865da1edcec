"""core.parallel: work one step ahead in a thread, and tasks shared with forked helper processes."""

import multiprocessing
import os
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import translation

from core.parallel import HelperDied, can_fork, read_ahead, shared_with_helpers


def test_read_ahead_prepares_in_order_in_a_thread_one_item_ahead():
    read = []

    def items():
        for number in range(5):
            read.append(number)
            yield number

    prepared = read_ahead(items(), lambda number: (number, threading.current_thread().name), name="ahead")
    first = next(prepared)
    deadline = time.monotonic() + 10
    while len(read) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert first == (0, "ahead")
    assert read == [0, 1, 2]
    assert [number for number, _thread in prepared] == [1, 2, 3, 4]


def test_read_ahead_passes_none_and_exceptions_through_as_values():
    assert list(read_ahead([1, 2], lambda number: None if number == 1 else ValueError(number)))[0] is None
    values = list(read_ahead([2], lambda number: ValueError(number)))
    assert isinstance(values[0], ValueError)


def test_read_ahead_raises_an_error_in_its_place_in_the_order():
    def prepare(number):
        if number == 2:
            raise RuntimeError("bad item")
        return number

    prepared = read_ahead(range(5), prepare)
    assert next(prepared) == 0
    assert next(prepared) == 1
    with pytest.raises(RuntimeError, match="bad item"):
        next(prepared)


def test_read_ahead_runs_in_the_callers_language_and_stops_when_closed():
    with translation.override("es-ar"):
        prepared = read_ahead(range(1000), lambda number: translation.get_language())
        assert next(prepared) == "es-ar"
    threads = {thread.name for thread in threading.enumerate()}
    prepared.close()
    assert "read-ahead" in threads
    assert "read-ahead" not in {thread.name for thread in threading.enumerate()}


def _start_worker(pause=0.1):
    def work(task):
        time.sleep(pause)
        return task * 10, os.getpid(), translation.get_language()

    return lambda: work


def test_every_task_runs_once_shared_between_this_process_and_its_helpers():
    with translation.override("es-ar"):
        outcomes = list(shared_with_helpers(12, _start_worker(), helpers=2))
    assert sorted(task for task, _result in outcomes) == list(range(12))
    assert all(result[0] == task * 10 for task, result in outcomes)
    assert os.getpid() in {result[1] for _task, result in outcomes}
    assert len({result[1] for _task, result in outcomes}) > 1
    assert {result[2] for _task, result in outcomes} == {"es-ar"}


def test_a_result_that_stops_claims_leaves_the_remaining_tasks_unclaimed():
    outcomes = list(
        shared_with_helpers(50, _start_worker(), helpers=1, stops_claims=lambda result: result[0] == 20)
    )
    tasks = sorted(task for task, _result in outcomes)
    assert 2 in tasks
    assert len(tasks) < 10


def test_an_exception_in_a_helper_is_raised_here():
    parent = os.getpid()

    def start_worker():
        if os.getpid() != parent:
            raise LookupError("helper could not start")
        return lambda task: time.sleep(0.05) or task

    with pytest.raises(LookupError, match="helper could not start"):
        list(shared_with_helpers(6, start_worker, helpers=1))


def test_a_helper_that_dies_with_a_claimed_task_raises_helper_died():
    parent = os.getpid()

    def start_worker():
        def work(task):
            if os.getpid() != parent:
                os._exit(1)
            time.sleep(0.2)
            return task

        return work

    with pytest.raises(HelperDied):
        list(shared_with_helpers(2, start_worker, helpers=1))


def test_helpers_still_working_when_the_caller_stops_are_killed():
    parent = os.getpid()
    helper_pids = []

    def start_worker():
        def work(task):
            if os.getpid() != parent:
                time.sleep(60)
            return os.getpid()

        return work

    outcomes = shared_with_helpers(3, start_worker, helpers=1)
    next(outcomes)
    helper_pids.extend(child.pid for child in multiprocessing.active_children())
    started = time.monotonic()
    outcomes.close()
    assert time.monotonic() - started < 10
    for pid in helper_pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


# Outside the test's own transaction, as a sync runs.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_forking_needs_postgresql_outside_a_transaction_on_the_main_thread():
    """Only PostgreSQL, outside a transaction, from the main thread: never on SQLite, never inside an
    atomic block (helpers could not see its rows), never from another thread."""
    assert can_fork() is (connection.vendor == "postgresql")
    with transaction.atomic():
        assert not can_fork()
    answers = []
    thread = threading.Thread(target=lambda: answers.append(can_fork()))
    thread.start()
    thread.join()
    assert answers == [False]
