"""RQ jobs, enqueued by dotted name (``webhooks.jobs.deliver_due``) and run every few seconds."""

from . import services


def deliver_due() -> None:
    services.deliver_due()


def purge_delivered() -> None:
    services.purge_delivered()
