"""RQ jobs of the retention app, enqueued by dotted name; thin wrappers around ``runs``."""

from crm.models import User

from . import runs
from .models import RetentionRun


def apply_retention() -> int:
    """The scheduled run: returns how many rows it changed (0 when another run is under way)."""
    log = runs.run(RetentionRun.Trigger.SCHEDULE)
    return log.total if log else 0


def apply_retention_for(user_id: int) -> int:
    """A run an admin asked for from the retention page."""
    actor = User.objects.filter(pk=user_id).first()
    log = runs.run(RetentionRun.Trigger.ADMIN, actor)
    return log.total if log else 0
