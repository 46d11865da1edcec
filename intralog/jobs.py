"""The one way to enqueue work.

With ``REDIS_URL`` set, jobs go to real RQ queues (``high``, ``default``, ``low``) and a worker runs
them. Without it, the same RQ queues run each job in-process at enqueue time, against an in-memory
Redis, so development and tests need no server and still take the same code path.
"""

from functools import cache

import django_rq
from django.conf import settings
from django_rq.connection_utils import get_connection


@cache
def _embedded_connection():
    import fakeredis

    return fakeredis.FakeRedis()


def is_embedded():
    return not settings.REDIS_URL


@cache
def _redis_connection(queue, url):
    return get_connection(queue)


def connection(queue="default"):
    """The queue's Redis client, shared by the process (redis-py pools are fork-safe)."""
    return _embedded_connection() if is_embedded() else _redis_connection(queue, settings.REDIS_URL)


def get_queue(name="default"):
    return django_rq.get_queue(name, connection=connection(name))


def enqueue(func, *args, queue="default", **kwargs):
    """Enqueue ``func`` after the current transaction commits (at once outside a transaction)."""
    return get_queue(queue).enqueue(func, *args, **kwargs)


def cron_scheduler():
    """RQ's cron scheduler loaded with the project's periodic schedule (``intralog.schedule``)."""
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=connection("low"))
    scheduler.load_config_from_file("intralog.schedule")
    return scheduler


def run_due_periodic_jobs(scheduler=None):
    """Enqueue every periodic job that is due; returns the cron jobs enqueued."""
    scheduler = scheduler or cron_scheduler()
    return scheduler.enqueue_jobs()


def run_embedded_worker(stop_event, max_sleep=30, scheduler=None):
    """Without Redis: run the periodic schedule and drain the in-memory queues until ``stop_event`` is set.

    ``manage.py rundev`` starts this in a background thread so ``make run`` needs no worker process.
    """
    from rq import SimpleWorker
    from rq.timeouts import TimerDeathPenalty

    class ThreadWorker(SimpleWorker):
        death_penalty_class = TimerDeathPenalty

        def _install_signal_handlers(self):
            """Signals belong to the main thread (the web server)."""

    scheduler = scheduler or cron_scheduler()
    queues = [get_queue(name) for name in settings.JOB_QUEUES]
    while not stop_event.is_set():
        scheduler.enqueue_jobs()
        ThreadWorker(queues, connection=_embedded_connection()).work(burst=True, logging_level="WARNING")
        stop_event.wait(min(scheduler.calculate_sleep_interval() or 1, max_sleep))
