"""Spreadsheet imports: who may import for which brand, receiving a file, the preview, the run itself
(in batches through ``crm.intake.create_leads``), resuming, reverting and the errors as CSV."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from core.jobs import enqueue
from core.parallel import read_ahead
from crm import services as lead_services
from crm.access import brand_ids
from crm.brand_scope import brands_managed_by
from crm.models import Brand, Lead, Role, Source

from . import mapping
from .batches import Batch
from .lead_filters import EXTERNAL_SOURCE
from .models import ImportRun, SavedMapping
from .reading import FileProblem, Table
from .rows import RowError, RowReader

SOURCE_KEY = "spreadsheet"
EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx")
STORED_ERRORS = 5000
STALE_AFTER = timedelta(minutes=2)


class ImportProblem(Exception):
    """What the person asked cannot be done; the message says why."""


def can_import(user: Any) -> bool:
    """Admins and managers import (managers for their brands)."""
    return bool(user.is_authenticated and user.is_active and user.role in (Role.ADMIN, Role.MANAGER))


def import_brands(user: Any) -> QuerySet[Brand]:
    return brands_managed_by(user) if can_import(user) else Brand.objects.none()


def runs_for(user: Any) -> QuerySet[ImportRun]:
    """The runs ``user`` may see: every run for admins, their brands' for managers, none for others."""
    runs = ImportRun.objects.select_related("brand", "created_by")
    if not can_import(user):
        return runs.none()
    if user.role == Role.ADMIN:
        return runs
    return runs.filter(brand_id__in=sorted(brand_ids(user)))


def _root() -> Path:
    root = Path(settings.IMPORTS_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def file_path(run: ImportRun) -> Path:
    return _root() / run.stored_file


def _size(count: int) -> str:
    return _("%(size)s MB") % {"size": number_format(count / 1024 / 1024, 1)}


def receive_file(user: Any, brand: Brand, upload: UploadedFile) -> ImportRun:
    """Keep an uploaded file and open a draft run for it, its columns guessed; ``ImportProblem`` when the
    file cannot be imported, ``PermissionDenied`` for a brand the person does not hold."""
    if not import_brands(user).filter(pk=brand.pk).exists():
        raise PermissionDenied
    name = Path(upload.name or "").name
    suffix = Path(name).suffix.lower()
    if suffix == ".xls":
        raise ImportProblem(_("Old Excel files (.xls) cannot be read: save the file as XLSX or CSV."))
    if suffix not in EXTENSIONS:
        raise ImportProblem(_("Upload a CSV or XLSX file."))
    limit = settings.IMPORTS_MAX_BYTES
    if (upload.size or 0) > limit:
        raise ImportProblem(
            _("The file is %(size)s; the largest accepted is %(limit)s. Split it into smaller files.")
            % {"size": _size(upload.size or 0), "limit": _size(limit)}
        )
    stored = f"{uuid.uuid4().hex}{suffix}"
    path = _root() / stored
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for chunk in upload.chunks():
            digest.update(chunk)
            file.write(chunk)
    try:
        table = Table(path)
        if not any(True for _row in table.rows()):
            raise FileProblem(_("The file has only the column names: there are no rows to import."))
    except FileProblem as problem:
        path.unlink(missing_ok=True)
        raise ImportProblem(str(problem)) from None
    saved = SavedMapping.objects.filter(user=user, brand=brand).first()
    columns = mapping.guess(table.headers, saved.columns if saved else None)
    return ImportRun.objects.create(
        brand=brand,
        created_by=user,
        file_name=name[:255],
        file_hash=digest.hexdigest(),
        file_size=upload.size or 0,
        stored_file=stored,
        mapping={"headers": table.headers, "columns": columns},
    )


def earlier_run(run: ImportRun) -> ImportRun | None:
    """A finished run of the same file for the same brand (importing it again creates nothing)."""
    return (
        ImportRun.objects.filter(brand=run.brand, file_hash=run.file_hash, state=ImportRun.State.DONE)
        .exclude(pk=run.pk)
        .first()
    )


@dataclass
class PreviewRow:
    number: int
    cells: list[str]
    error: str = ""
    notes: str = ""


def preview(run: ImportRun, columns: list[str], limit: int = 10) -> list[PreviewRow]:
    """The first rows as they would be stored with ``columns``: one cell per chosen column, or the error."""
    table = Table(file_path(run))
    reader = RowReader(run.brand, run.mapping["headers"], columns)
    shown = [target for target in columns if target != mapping.IGNORE]
    rows: list[PreviewRow] = []
    for number, cells in table.rows():
        if len(rows) >= limit:
            break
        try:
            row = reader.prepare(number, cells)
        except RowError as error:
            rows.append(PreviewRow(number, [], error=str(error)))
            continue
        values = []
        for target in shown:
            if target == mapping.SUBMITTED_AT:
                values.append(
                    timezone.localtime(row.submitted_at).strftime("%d/%m/%Y %H:%M")
                    if row.submitted_at
                    else ""
                )
            elif target == "service_text":
                values.append(
                    f"{row.values.get(target, '')} → {row.service}"
                    if row.service
                    else row.values.get(target, "")
                )
            elif target == "phone":
                values.append(
                    f"{row.values.get(target, '')} → {row.phone_e164}"
                    if row.phone_e164
                    else row.values.get(target, "")
                )
            else:
                values.append(row.values.get(target, ""))
        rows.append(PreviewRow(number, values, notes=" ".join(row.notes)))
    return rows


def set_mapping(run: ImportRun, columns: list[str]) -> list[str]:
    """Keep the columns chosen on a draft run; returns them cleaned."""
    columns = mapping.clean_columns(run.mapping["headers"], columns)
    run.mapping = {**run.mapping, "columns": columns}
    run.save(update_fields=["mapping"])
    return columns


def start(run: ImportRun, user: Any, *, mode: str, send_alerts: bool, remember: bool) -> ImportRun:
    """Queue the import of a draft run; with ``remember``, its mapping is offered for the person's next file."""
    if run.state != ImportRun.State.DRAFT:
        raise ImportProblem(_("This import has already started."))
    if mode not in ImportRun.Mode.values:
        raise ImportProblem(_("Choose what to do with rows that are already leads."))
    columns = run.mapping["columns"]
    if not any(target != mapping.IGNORE for target in columns):
        raise ImportProblem(_("Choose at least one column to import."))
    if remember:
        SavedMapping.objects.update_or_create(
            user=user,
            brand=run.brand,
            defaults={"columns": mapping.to_saved(run.mapping["headers"], columns)},
        )
    run.mode, run.send_alerts, run.state = mode, send_alerts, ImportRun.State.QUEUED
    run.save(update_fields=["mode", "send_alerts", "state"])
    transaction.on_commit(lambda: enqueue("imports.jobs.run_import", run.pk, job_timeout=3600))
    return run


def is_stale(run: ImportRun) -> bool:
    """A run said to be importing whose job has not reported for a while (its worker died)."""
    seen = run.heartbeat_at or run.started_at or run.created_at
    return run.is_active and timezone.now() - seen > STALE_AFTER


def can_resume(run: ImportRun) -> bool:
    return run.state == ImportRun.State.FAILED or is_stale(run)


def resume(run: ImportRun) -> ImportRun:
    """Queue a failed or stalled run again: it goes on after the last row it committed."""
    if not can_resume(run):
        raise ImportProblem(_("This import cannot be resumed."))
    run.state, run.failure, run.heartbeat_at = ImportRun.State.QUEUED, "", timezone.now()
    run.save(update_fields=["state", "failure", "heartbeat_at"])
    transaction.on_commit(lambda: enqueue("imports.jobs.run_import", run.pk, job_timeout=3600))
    return run


def import_source() -> Source:
    source, _created = Source.objects.get_or_create(
        key=SOURCE_KEY, defaults={"name": "Spreadsheet import", "name_es": "Importación de planilla"}
    )
    return source


def _claim(run_id: int) -> ImportRun | None:
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.state not in (ImportRun.State.QUEUED, ImportRun.State.RUNNING):
            return None
        if run.state == ImportRun.State.RUNNING and not is_stale(run):
            return None
        now = timezone.now()
        run.state, run.heartbeat_at = ImportRun.State.RUNNING, now
        run.started_at = run.started_at or now
        run.save(update_fields=["state", "heartbeat_at", "started_at"])
        return run


def process(run_id: int, batch_size: int | None = None) -> ImportRun | None:
    """Import a queued run's rows in batches, each committed with the run's progress, so a run that
    stops (a crash, a killed worker) goes on from its last committed row when resumed."""
    run = _claim(run_id)
    if run is None:
        return None
    language = getattr(getattr(run.created_by, "wagtail_userprofile", None), "preferred_language", "")
    with translation.override(language or settings.LANGUAGE_CODE):
        try:
            _process(run, batch_size or settings.IMPORTS_BATCH_SIZE)
        except Exception as error:
            ImportRun.objects.filter(pk=run.pk).update(
                state=ImportRun.State.FAILED, failure=str(error)[:2000], finished_at=timezone.now()
            )
            raise
    run.refresh_from_db()
    return run


def _chunks(rows: Iterator[tuple[int, list[Any]]], size: int) -> Iterator[list[tuple[int, list[Any]]]]:
    chunk: list[tuple[int, list[Any]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _process(run: ImportRun, batch_size: int) -> None:
    table = Table(file_path(run))
    if not run.total_rows:
        run.total_rows = table.count()
        ImportRun.objects.filter(pk=run.pk).update(total_rows=run.total_rows)
    reader = RowReader(run.brand, run.mapping["headers"], run.mapping["columns"])
    batch = Batch(run, reader, import_source(), EXTERNAL_SOURCE)
    chunks = _chunks(table.rows(skip=run.processed_rows), batch_size)
    for prepared in read_ahead(chunks, batch.prepare, name=f"import-{run.pk}"):
        batch.commit(prepared)
    ImportRun.objects.filter(pk=run.pk).update(state=ImportRun.State.DONE, finished_at=timezone.now())
    file_path(run).unlink(missing_ok=True)


def created_leads(run: ImportRun) -> QuerySet[Lead]:
    return Lead.objects.filter(
        external_source=EXTERNAL_SOURCE, external_form=str(run.brand_id), extra__import_run=run.pk
    )


def revert(run: ImportRun) -> ImportRun:
    """Remove the leads the run created that nobody has worked since; the others stay (counted)."""
    if run.state == ImportRun.State.REVERTED:
        raise ImportProblem(_("This import has already been reverted."))
    if run.state == ImportRun.State.DRAFT or (run.is_active and not is_stale(run)):
        raise ImportProblem(_("Wait until the import ends to revert it."))
    with transaction.atomic():
        locked = ImportRun.objects.select_for_update().get(pk=run.pk)
        removed, kept = lead_services.remove_untouched(created_leads(locked))
        locked.state, locked.finished_at = ImportRun.State.REVERTED, timezone.now()
        locked.reverted_count, locked.kept_count = len(removed), kept
        locked.save(update_fields=["state", "finished_at", "reverted_count", "kept_count"])
    return locked


def error_rows(run: ImportRun) -> Iterator[list[Any]]:
    """The errors CSV: a heading, then one line per row not imported."""
    yield [_("Row"), _("Error"), _("Row content")]
    for error in run.errors:
        yield [error.get("row", ""), error.get("message", ""), error.get("content", "")]
