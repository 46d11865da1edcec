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


def connection(queue="default"):
    return _embedded_connection() if is_embedded() else get_connection(queue)


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
