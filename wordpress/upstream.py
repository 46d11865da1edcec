"""What a submission's status on the site means for its lead: flagged there (spam, trash, no longer
listed) or active again."""

from collections import Counter
from collections.abc import Collection
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import services
from crm.models import Lead

from .client import SyncError
from .connectors import ACTIVE, FLAGGED_STATUSES, REMOVED, flag_of
from .mapping import SPAM_TAGS, flag_reason, restore_reason
from .models import SourceForm, Submission, WordPressSource

# External ids the CRM gave submissions the site never listed: a webhook item without id, an unusable record.
NON_SITE_PREFIXES = ("wh-", "invalid-")


def apply_upstream_status(lead_id: int, previous: str, status: str | None) -> bool:
    """What a status change on the site means for the lead; returns whether the lead changed.

    One policy whatever the shape: flagged (spam, trash, no longer listed) → tagged, and closed as junk
    unless a person has worked it (then its assignee is told); active again → untagged, and reopened if
    the flag closed it and nobody touched it since (``crm.services``).
    """
    before, after = flag_of(previous), flag_of(status)
    if before == after:
        return False
    lead = Lead.objects.get(pk=lead_id)
    if after in FLAGGED_STATUSES:
        services.mark_junk_upstream(lead, SPAM_TAGS[after], flag_reason(after), replaces=SPAM_TAGS.values())
    else:
        services.clear_junk_upstream(lead, SPAM_TAGS.values(), restore_reason())
    return True


def store_vanished(
    source: WordPressSource,
    form: SourceForm,
    listed: Collection[str],
    since: datetime | None = None,
    confirmed: bool = False,
) -> Counter[str]:
    """Mark the held submissions a hiding shape no longer lists (of those created since ``since``, or all)
    as removed upstream, and apply that to their leads. Returns counts (``updated``).

    A complete listing that drops most of what the form held at once looks like a broken site rather than
    a clean-up: unless ``confirmed`` (a full re-read someone asked for), nothing is marked and the form
    fails with the reason.
    """
    held = Submission.objects.filter(
        source=source, form_id=str(form.form_id), upstream_status__in=["", ACTIVE]
    ).exclude(state=Submission.State.RECEIVED)
    if since is not None:
        held = held.filter(lead__submitted_at__gte=since)
    rows = [
        row
        for row in held.order_by().values_list("pk", "external_id", "lead_id", "upstream_status")
        if not row[1].startswith(NON_SITE_PREFIXES)
    ]
    gone = [row for row in rows if row[1] not in listed]
    counts: Counter[str] = Counter()
    if not gone:
        return counts
    if since is None and not confirmed and len(gone) > max(10, len(rows) // 2):
        raise SyncError(
            _(
                "The site stopped listing %(gone)s of the %(held)s submissions held for this form at once; "
                "none was marked removed. Check the site; if they were really removed there, run a full sync "
                "(Sync now, “Re-read every submission”) to apply it."
            )
            % {"gone": len(gone), "held": len(rows)}
        )
    for pk, _external_id, lead_id, previous in gone:
        with transaction.atomic():
            Submission.objects.filter(pk=pk).update(
                upstream_status=REMOVED, digest="", updated_at=timezone.now()
            )
            if lead_id is not None and apply_upstream_status(lead_id, previous, REMOVED):
                counts["updated"] += 1
    return counts
