"""RQ jobs, enqueued by dotted name (``webhooks.jobs.deliver_due``) and run every few seconds."""

from . import services


def deliver_due() -> None:
    services.deliver_due()
