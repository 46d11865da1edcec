"""The quarantine's actions: a held submission tried again (read again from its stored payload), or dismissed."""

from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Lead

from .client import SyncError
from .connectors import Record, connector_for, webhook_record
from .mapping import RecordError
from .models import SourceForm, Submission
from .store import store_page


def retry_submission(submission: Submission) -> Lead | None:
    """Try a quarantined submission again; returns the lead or raises ``RecordError``."""
    source = submission.source
    form = (
        SourceForm.objects.select_related("brand", "default_service")
        .filter(source=source, form_id=submission.form_id)
        .first()
    )
    if form is None:
        raise RecordError(
            _("The form %(form)s is not configured for this source.") % {"form": submission.form_id}
        )
    item = record_from_submission(submission)
    counts = store_page(source, form, [item], origin=submission.origin, advance_cursor=False)
    submission.refresh_from_db()
    if counts["quarantined"]:
        raise RecordError(submission.reason)
    return submission.lead


def record_from_submission(submission: Submission) -> Record:
    """Rebuild the common record from a stored submission (for a quarantine retry)."""
    payload = submission.payload
    if isinstance(payload, dict) and "_webhook" in payload:
        kind = payload["_webhook"]
        item = {key: value for key, value in payload.items() if key != "_webhook"}
        item = item.get("value", item) if set(item) == {"value"} else item
        result = webhook_record(submission.source, kind, item, submission.external_id, submission.received_at)
    else:
        try:
            result = connector_for(submission.source).to_record(submission.form_id, payload)
        except SyncError as error:
            raise RecordError(str(error)) from error
    result["external_id"] = result["external_id"] or submission.external_id
    return result


def dismiss_submission(submission: Submission) -> None:
    Submission.objects.filter(pk=submission.pk).update(
        state=Submission.State.DISMISSED, updated_at=timezone.now()
    )
