import pytest
from rq import Queue

from core import jobs


def flush(queue):
    """Remove this queue and its registries only; other queues in the Redis database stay."""
    registries = [
        queue.failed_job_registry,
        queue.finished_job_registry,
        queue.started_job_registry,
        queue.deferred_job_registry,
        queue.scheduled_job_registry,
    ]
    queue.connection.delete(queue.key, *(registry.key for registry in registries))


@pytest.fixture
def low_queue():
    """The ``low`` RQ queue, empty before and after the test."""
    queue = Queue("low", connection=jobs.connection("low"))
    flush(queue)
    yield queue
    flush(queue)
