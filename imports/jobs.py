"""Background work of imports, enqueued by dotted name (``imports.jobs.run_import``)."""

from . import services


def run_import(run_id: int) -> None:
    """Import a queued run (or go on with a stalled one)."""
    services.process(run_id)
