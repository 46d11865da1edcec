"""RQ jobs of the API, run by the periodic schedule (``intralog.schedule``)."""

from . import services


def purge_idempotency_records() -> int:
    return services.purge_idempotency_records()
