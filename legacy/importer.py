"""The import from the old Leads Manager: batches of old submissions read, mapped and saved through
``crm.backfill``, each batch in one transaction with the old id → lead mapping, so a re-run (or a run
after a crash) updates what changed and never creates a lead twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from io import StringIO

from django.core.management import call_command
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.bulk import insert_rows
from crm.backfill import PastEvent, PastLead, create_past_leads, update_past_leads
from crm.models import Lead, LeadEvent

from .mapping import EXTERNAL_SOURCE, Mapper, Report, changed_fields, fingerprint, unknown_brand_text
from .models import LegacySubmission
from .reader import OldDatabase, OldSubmission

Progress = Callable[[Report, int], None]


def import_legacy(
    source: str,
    *,
    dry_run: bool = False,
    batch_size: int = 2000,
    form_brands: dict[int, str] | None = None,
    rebuild_dashboards: bool = True,
    progress: Progress | None = None,
) -> Report:
    """Import (or, ``dry_run``, only count) every submission of the old database at ``source``.

    Raises ``reader.LegacyDatabaseError`` when the database cannot be read. ``progress(report, total)``
    is called after each batch. The dashboards' rollup is rebuilt at the end (the imported events carry
    their original dates and people).
    """
    started = time.perf_counter()
    report = Report(dry_run=dry_run)
    with OldDatabase(source) as old:
        total, _history = old.counts()
        mapper = Mapper(old.users(), old.campaigns(), report, form_brands)
        mapper.list_unknown_users(old.user_references())
        for batch in old.batches(batch_size):
            if dry_run:
                _import_batch(batch, mapper, report, write=False)
            else:
                with transaction.atomic():
                    _import_batch(batch, mapper, report, write=True)
            if progress is not None:
                progress(report, total)
    if rebuild_dashboards and not dry_run and (report.created or report.updated):
        call_command("rebuild_dashboards", stdout=StringIO())
    report.seconds = time.perf_counter() - started
    return report


def _import_batch(batch: list[OldSubmission], mapper: Mapper, report: Report, *, write: bool) -> None:
    known = {
        row.old_id: row
        for row in LegacySubmission.objects.filter(old_id__in=[s.id for s in batch]).select_related(
            "lead__assignee"
        )
    }
    adopted = _unmapped_leads([s for s in batch if s.id not in known], mapper)
    new: list[tuple[OldSubmission, PastLead, str]] = []
    updates: list[tuple[Lead, PastLead, str]] = []
    marks: list[LegacySubmission] = []
    for submission in batch:
        report.submissions += 1
        brand = mapper.brand(submission)
        if brand is None:
            report.error(submission.id, unknown_brand_text(submission))
            continue
        print_ = fingerprint(submission)
        last_history = max((row.id for row in submission.history), default=0)
        mark = known.get(submission.id)
        if mark is None and submission.id in adopted:
            lead = adopted[submission.id]
            mark = LegacySubmission(old_id=submission.id, lead=lead, last_history_id=_imported_history(lead))
        if mark is None:
            past = mapper.past_lead(submission, brand)
            if past.management_note:
                past.events.append(mapper.note_event(submission, past.management_note))
                report.notes += 1
            report.created += 1
            report.events += len(past.events)
            new.append((submission, past, print_))
            continue
        if mark.fingerprint == print_ and mark.last_history_id >= last_history:
            report.unchanged += 1
            continue
        past = mapper.past_lead(submission, brand, after_history=mark.last_history_id)
        lead = mark.lead
        why = changed_fields(lead, past)
        _events_of_changes(lead, past, submission, why, mapper)
        report.notes += "management_note" in why
        report.updated += 1
        report.events += len(past.events) + bool(why)
        updates.append((lead, past, ", ".join(why)))
        mark.fingerprint, mark.last_history_id = print_, last_history
        marks.append(mark)
    if write:
        _save(new, updates, marks)


def _events_of_changes(
    lead: Lead, past: PastLead, submission: OldSubmission, why: list[str], mapper: Mapper
) -> None:
    """The events of what changed in the old app without a history row: owner, management message."""
    if "assignee" in why:
        now = timezone.now()
        past.assigned_at = now if past.assignee else None
        past.events.append(
            PastEvent(
                LeadEvent.Kind.ASSIGNED,
                now,
                from_value=lead.assignee.get_username() if lead.assignee else "",
                to_value=past.assignee.get_username() if past.assignee else "",
                data={
                    "imported": EXTERNAL_SOURCE,
                    "from_id": lead.assignee_id,
                    "to_id": getattr(past.assignee, "pk", None),
                },
            )
        )
    if "management_note" in why and past.management_note:
        past.events.append(mapper.note_event(submission, past.management_note))


def _imported_history(lead: Lead) -> int:
    """The last old history row already on a lead (its events keep the old row's id)."""
    found = lead.events.filter(data__imported=EXTERNAL_SOURCE).values_list("data", flat=True)
    return max((int(data.get("history_id") or 0) for data in found), default=0)


def _unmapped_leads(batch: list[OldSubmission], mapper: Mapper) -> dict[int, Lead]:
    """Leads this import made whose mapping row is missing (e.g. deleted by hand): taken over, not doubled."""
    refs = {
        (str(s.values["form_id"] or ""), str(s.values["submission_id"] or f"old-{s.id}")): s.id for s in batch
    }
    if not refs:
        return {}
    match = Q()
    for form in {ref[0] for ref in refs}:
        ids = [ref[1] for ref in refs if ref[0] == form]
        match |= Q(external_source=EXTERNAL_SOURCE, external_form=form, external_id__in=ids)
    found = Lead.objects.filter(match).select_related("assignee")
    return {refs[key]: lead for lead in found if (key := (lead.external_form, lead.external_id)) in refs}


def _save(
    new: list[tuple[OldSubmission, PastLead, str]],
    updates: list[tuple[Lead, PastLead, str]],
    marks: list[LegacySubmission],
) -> None:
    leads = create_past_leads([past for _submission, past, _print in new])
    insert_rows(
        LegacySubmission,
        [
            {
                "old_id": submission.id,
                "lead_id": lead.pk,
                "fingerprint": print_,
                "last_history_id": max((row.id for row in submission.history), default=0),
                "imported_at": timezone.now(),
            }
            for (submission, _past, print_), lead in zip(new, leads, strict=True)
        ],
    )
    update_past_leads(updates)
    now = timezone.now()
    for mark in marks:
        mark.imported_at = now
    existing = [mark for mark in marks if mark.pk is not None]
    LegacySubmission.objects.bulk_update(existing, ["fingerprint", "last_history_id", "imported_at"])
    LegacySubmission.objects.bulk_create([mark for mark in marks if mark.pk is None])
