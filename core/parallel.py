"""Running work beside the caller: one step ahead in a thread, or shared with forked helper processes.

Neither runner knows what the work is: the caller passes it in. Both carry over what a Django process
needs (the active language; database connections closed across a fork).
"""

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.context import ForkProcess
from multiprocessing.sharedctypes import Synchronized
from typing import Any, Generic, TypeVar

from django.db import connection, connections
from django.utils import translation

Item = TypeVar("Item")
Prepared = TypeVar("Prepared")
Result = TypeVar("Result")

PR_SET_PDEATHSIG = 1


class HelperDied(RuntimeError):
    """A helper process ended before sending the outcome of every task it claimed."""


class _Ready(Generic[Prepared]):
    """A prepared item on its way to the caller (it may itself be None or an exception)."""

    __slots__ = ("value",)

    def __init__(self, value: Prepared) -> None:
        self.value = value


def read_ahead(
    items: Iterable[Item], prepare: Callable[[Item], Prepared], name: str = "read-ahead"
) -> Iterator[Prepared]:
    """``prepare(item)`` for each of ``items``, in order, computed one item ahead in a thread.

    The thread iterates ``items`` and prepares the next one while the caller works on the current one.
    It runs in the caller's language; an exception it meets is raised to the caller in its place in the
    order. Closing the iterator stops the thread (``name``).
    """
    ready: queue.Queue[_Ready[Prepared] | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()
    language = translation.get_language()

    def put(entry: _Ready[Prepared] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        translation.activate(language)
        try:
            for item in items:
                if not put(_Ready(prepare(item))):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consuming thread
            put(error)
        else:
            put(None)

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    try:
        while True:
            entry = ready.get()
            if entry is None:
                return
            if isinstance(entry, BaseException):
                raise entry
            yield entry.value
    finally:
        stop.set()
        worker.join()


def can_fork() -> bool:
    """Whether forked helpers may share this caller's work: on PostgreSQL (helpers open their own
    connections to the same database), outside a transaction (they could not see its rows), from the
    process's main thread."""
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and threading.current_thread() is threading.main_thread()
    )


def shared_with_helpers(
    tasks: int,
    start_worker: Callable[[], Callable[[int], Result]],
    helpers: int,
    stops_claims: Callable[[Result], bool] = lambda result: False,
) -> Generator[tuple[int, Result], None, None]:
    """Run tasks ``0 .. tasks - 1`` in this process and ``helpers`` forked ones; yields ``(task, result)``
    as each task ends.

    Whoever is free claims the next task (a shared counter). Each process calls ``start_worker()`` once
    (here, at its first claim) and the returned function with each task it claims. Helpers send their
    results (which must pickle) back through a pipe of their own and die with this process. A result for
    which ``stops_claims`` is true stops further claims; an exception a helper meets is raised here after
    the results read with it; a helper that dies with tasks outstanding raises ``HelperDied``. Helpers
    still running when the iterator is closed early are killed.
    """
    context = multiprocessing.get_context("fork")
    claimed = context.Value("i", 0)
    language = translation.get_language()
    outstanding = tasks
    stopped = False
    work: Callable[[int], Result] | None = None
    started: list[tuple[ForkProcess, Connection]] = []
    outcome: tuple[int, Result]
    connections.close_all()
    try:
        for _number in range(helpers):
            receiver, sender = context.Pipe(duplex=False)
            helper = context.Process(
                target=_helper,
                args=(tasks, start_worker, stops_claims, claimed, language, sender, os.getpid()),
                daemon=True,
            )
            started.append((helper, receiver))
            helper.start()
            sender.close()
        while (task := _claim(claimed)) < tasks:
            work = work or start_worker()
            result = work(task)
            if stops_claims(result):
                _stop_claims(claimed, tasks)
                stopped = True
            outstanding -= 1
            yield task, result
            for outcome in _helper_outcomes(started, timeout=0):
                outstanding -= 1
                stopped = stopped or stops_claims(outcome[1])
                yield outcome
        while outstanding:
            if stopped and all(receiver.closed for _helper, receiver in started):
                return
            for outcome in _helper_outcomes(started, timeout=None):
                outstanding -= 1
                stopped = stopped or stops_claims(outcome[1])
                yield outcome
    finally:
        for helper, receiver in started:
            receiver.close()
            if outstanding and helper.pid is not None:
                helper.kill()
            if helper.pid is not None:
                helper.join()


def _claim(claimed: "Synchronized[int]") -> int:
    with claimed.get_lock():
        task = claimed.value
        claimed.value += 1
    return task


def _stop_claims(claimed: "Synchronized[int]", total: int) -> None:
    with claimed.get_lock():
        claimed.value = max(claimed.value, total)


def _helper_outcomes(
    started: list[tuple[ForkProcess, Connection]], timeout: float | None
) -> Iterator[tuple[int, Any]]:
    """The ``(task, result)`` helpers have sent; waits up to ``timeout`` (None: for one).

    An exception a helper sent is raised after the outcomes read with it have been handed over.
    """
    receivers = {receiver: helper for helper, receiver in started if not receiver.closed}
    if not receivers and timeout is None:
        raise HelperDied("A helper process ended before finishing its tasks.")
    failure = None
    for ready in multiprocessing.connection.wait(
        [*receivers, *(helper.sentinel for helper in receivers.values())], timeout
    ):
        if ready not in receivers:
            continue
        try:
            outcome = ready.recv()
        except EOFError:
            ready.close()
            continue
        if isinstance(outcome, BaseException):
            failure = outcome
            continue
        yield outcome
    if failure is not None:
        raise failure


def _helper(
    tasks: int,
    start_worker: Callable[[], Callable[[int], Result]],
    stops_claims: Callable[[Result], bool],
    claimed: "Synchronized[int]",
    language: str | None,
    sender: Connection,
    parent_pid: int,
) -> None:
    """A forked helper: dies with its parent, runs the tasks it claims and sends back each result."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)
    connections.close_all()
    if language:
        translation.activate(language)
    try:
        work = start_worker()
        while (task := _claim(claimed)) < tasks:
            result = work(task)
            if stops_claims(result):
                _stop_claims(claimed, tasks)
            sender.send((task, result))
    except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
        sender.send(error)
    finally:
        connections.close_all()
        sender.close()
