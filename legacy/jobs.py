"""The import's job, queued by dotted name (``"legacy.jobs.run_import"``)."""

from . import services


def run_import(run_id: int) -> int | None:
    record = services.run(run_id)
    return record.pk if record else None
