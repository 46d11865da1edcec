"""An RQ worker beside the live server for browser tests on Redis (embedded, jobs run as they are queued).

Import the fixture into a test module with ``from tests.browser.worker_support import worker``.
"""

import threading

import pytest
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from core.jobs import get_queue, is_embedded


class _ThreadWorker(SimpleWorker):
    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        """Signals belong to the main thread."""


@pytest.fixture
def worker():
    """With Redis, a worker beside the live server, as ``make worker`` runs beside gunicorn (embedded,
    jobs run as they are queued)."""
    if is_embedded():
        yield
        return
    stop = threading.Event()
    queues = [get_queue(name) for name in ("high", "default", "low")]

    def work():
        while not stop.is_set():
            _ThreadWorker(queues, connection=queues[0].connection).work(burst=True, logging_level="WARNING")
            stop.wait(0.2)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)
