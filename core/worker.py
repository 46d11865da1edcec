"""The RQ worker the deployment runs (``RQ["WORKER_CLASS"]``)."""

from typing import Any

from django.db import close_old_connections
from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue


class Worker(SimpleWorker):
    """Runs each job in the worker's own process instead of a fork per job.

    A fork per job costs a process and a new database connection for every job, most of the CPU of a
    short job (reading a webhook body, sending a batch of alerts). The connection is kept between jobs
    and checked before and after each one, as Django checks it around a request (``CONN_MAX_AGE``,
    health checks). Job timeouts still apply (RQ's signal-based death penalty in the main thread); a
    job that kills the process is taken back by RQ's abandoned-job handling once the service restarts it.
    """

    def perform_job(self, job: Job, queue: Queue) -> Any:
        close_old_connections()
        try:
            return super().perform_job(job, queue)
        finally:
            close_old_connections()
