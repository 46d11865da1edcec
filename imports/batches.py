"""One batch of rows of a run, committed together with the run's progress: prepared, matched with the
brand's leads by email or phone (by mode), created through ``crm.intake.create_leads`` or updated
through ``crm.services.edit_lead``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from crm import services as lead_services
from crm.intake import LeadData, NewLeadLookups, create_leads
from crm.models import Lead, Source

from .models import ImportRun
from .reading import Cell
from .rows import Prepared, RowError, RowReader

_STORED_ERRORS = 5000


def sheet_line(number: int) -> int:
    """The spreadsheet's line of data row ``number`` (the heading is line 1)."""
    return number + 1


def _content(cells: list[Cell]) -> str:
    return " | ".join(str(cell) for cell in cells)[:500]


@dataclass
class PreparedRows:
    """A batch of rows read and cleaned: data rows ``first`` to ``last``, those that can be stored (each
    with its identity) and the errors of the others."""

    first: int
    last: int
    rows: list[tuple[Prepared, str]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Outcome:
    drafts: list[LeadData] = field(default_factory=list)
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


class Batch:
    """Commits batches of one run's rows."""

    def __init__(self, run: ImportRun, reader: RowReader, source: Source, external_source: str) -> None:
        self.run = run
        self.reader = reader
        self.source = source
        self.external_source = external_source
        self.external_form = str(run.brand_id)
        self.lookups = NewLeadLookups(max_age=10)

    def prepare(self, rows: list[tuple[int, list[Cell]]]) -> PreparedRows:
        """The rows as they will be stored, or their errors; reads nothing from the database (a read-ahead
        thread prepares the next batch while this one is written)."""
        batch = PreparedRows(first=rows[0][0], last=rows[-1][0])
        for number, cells in rows:
            try:
                row = self.reader.prepare(number, cells)
            except RowError as error:
                batch.errors.append(
                    {"row": sheet_line(number), "message": str(error), "content": _content(cells)}
                )
                continue
            batch.rows.append((row, row.identity(self.run.brand_id)))
        return batch

    def commit(self, rows: PreparedRows) -> None:
        """Import prepared ``rows`` and advance the run past them, in one transaction."""
        with transaction.atomic():
            run = ImportRun.objects.select_for_update().get(pk=self.run.pk)
            if rows.first <= run.processed_rows:
                raise RuntimeError("Another job has imported these rows.")
            outcome = self._import(rows, run)
            leads = create_leads(
                outcome.drafts, run.created_by, lookups=self.lookups.fresh(), refs_checked=True
            )
            created = [lead for lead in leads if lead is not None]
            run.processed_rows = rows.last
            run.created_count = F("created_count") + len(created)
            run.updated_count = F("updated_count") + outcome.updated
            run.skipped_count = F("skipped_count") + outcome.skipped
            run.error_count = F("error_count") + len(outcome.errors)
            room = _STORED_ERRORS - len(run.errors)
            if room > 0 and outcome.errors:
                run.errors = [*run.errors, *outcome.errors[:room]]
            run.heartbeat_at = timezone.now()
            run.save(
                update_fields=[
                    "processed_rows",
                    "created_count",
                    "updated_count",
                    "skipped_count",
                    "error_count",
                    "errors",
                    "heartbeat_at",
                ]
            )

    def _import(self, rows: PreparedRows, run: ImportRun) -> _Outcome:
        outcome = _Outcome(errors=rows.errors)
        prepared = rows.rows
        known = set(
            Lead.objects.filter(
                external_source=self.external_source,
                external_form=self.external_form,
                external_id__in=[identity for _row, identity in prepared],
            ).values_list("external_id", flat=True)
        )
        matches = (
            self._matches([row for row, _identity in prepared]) if run.mode != ImportRun.Mode.CREATE else {}
        )
        for row, identity in prepared:
            if identity in known:
                outcome.skipped += 1
                continue
            known.add(identity)
            lead = matches.get(row.values.get("email") or "") or matches.get(row.phone_e164 or "")
            if lead is not None and run.mode == ImportRun.Mode.SKIP:
                outcome.skipped += 1
            elif lead is not None and isinstance(lead, Lead):
                outcome.updated += self._update(lead, row, run)
            elif lead is not None:
                outcome.skipped += 1
            else:
                outcome.drafts.append(self._draft(row, identity, run))
                for key in (row.values.get("email"), row.phone_e164):
                    if key and run.mode != ImportRun.Mode.CREATE:
                        matches.setdefault(key, True)
        return outcome

    def _matches(self, rows: list[Prepared]) -> dict[str, Lead | bool]:
        """The brand's leads (originals first) by email and by E.164 phone, for the rows' contacts."""
        emails = {row.values["email"] for row in rows if row.values.get("email")}
        phones = {row.phone_e164 for row in rows if row.phone_e164}
        if not emails and not phones:
            return {}
        leads = (
            Lead.objects.filter(brand_id=self.run.brand_id, merged_into__isnull=True)
            .filter(Q(email__in=sorted(emails)) | Q(phone_e164__in=sorted(phones)))
            .order_by("submitted_at", "pk")
            .only("pk", "email", "phone_e164")
        )
        found: dict[str, Lead | bool] = {}
        for lead in leads:
            for key in (lead.email, lead.phone_e164):
                if key and (key in emails or key in phones):
                    found.setdefault(key, lead)
        return found

    def _update(self, lead: Lead, row: Prepared, run: ImportRun) -> int:
        changes: dict[str, Any] = {
            name: value
            for name, value in row.values.items()
            if value and name in lead_services.EDITABLE_FIELDS
        }
        if row.service is not None:
            changes["service"] = row.service
        current = Lead.objects.select_related("service").get(pk=lead.pk)
        changed = {name: value for name, value in changes.items() if getattr(current, name) != value}
        if not changed:
            return 0
        lead_services.edit_lead(current, run.created_by, changed)
        return 1

    def _draft(self, row: Prepared, identity: str, run: ImportRun) -> LeadData:
        extra = {**row.extra, "import_run": run.pk, "import_row": sheet_line(row.number)}
        return LeadData(
            run.brand,
            submitted_at=row.submitted_at,
            tags=row.tags,
            created_by=run.created_by,
            skip_alerts=not run.send_alerts,
            phone_e164=row.phone_e164,
            service=row.service,
            campaign=row.campaign,
            source=self.source,
            external_source=self.external_source,
            external_form=self.external_form,
            external_id=identity,
            extra=extra,
            **row.values,
        )
