"""Import runs started from the admin: the uploaded file kept privately, the job queued, its report kept."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from core.jobs import enqueue
from crm.models import User

from .importer import import_legacy
from .mapping import Report
from .models import LegacyImport
from .reader import LegacyDatabaseError

CONFIGURED = "LEGACY_DATABASE_URL"


def upload_root() -> Path:
    return Path(settings.LEGACY_IMPORT_ROOT)


def configured_url() -> str:
    return str(getattr(settings, CONFIGURED, "") or "")


def describe_url(url: str) -> str:
    """The configured database named without its password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


@transaction.atomic
def start_import(
    user: User, *, upload: IO[bytes] | None, name: str = "", dry_run: bool = False
) -> LegacyImport:
    """Keep the uploaded SQLite file (or use the configured URL when none), record the run, queue its job."""
    stored = ""
    if upload is not None:
        root = upload_root()
        root.mkdir(parents=True, exist_ok=True)
        target = root / f"{uuid.uuid4().hex}.sqlite3"
        with target.open("wb") as file:
            for chunk in iter(lambda: upload.read(1 << 20), b""):
                file.write(chunk)
        stored = str(target)
        source = Path(name).name or target.name
    else:
        source = describe_url(configured_url())
    run = LegacyImport.objects.create(source=source, uploaded_file=stored, dry_run=dry_run, started_by=user)
    log(instance=run, action="legacy.import_started", user=user, data={"dry_run": dry_run})
    enqueue("legacy.jobs.run_import", run.pk)
    return run


def run(run_id: int) -> LegacyImport | None:
    """Run a queued import: its report is saved after every batch, the uploaded file removed at the end."""
    claimed = LegacyImport.objects.filter(pk=run_id, state=LegacyImport.State.QUEUED).update(
        state=LegacyImport.State.RUNNING
    )
    if not claimed:
        return None
    record = LegacyImport.objects.get(pk=run_id)
    source = record.uploaded_file or configured_url()

    def progress(report: Report, total: int) -> None:
        LegacyImport.objects.filter(pk=run_id).update(report={**report.as_dict(), "total": total})

    try:
        if not source:
            raise LegacyDatabaseError(_("No old database is configured (LEGACY_DATABASE_URL)."))
        report = import_legacy(source, dry_run=record.dry_run, progress=progress)
    except Exception as error:
        record.state, record.error = LegacyImport.State.FAILED, str(error)[:2000]
        record.report = LegacyImport.objects.get(pk=run_id).report
    else:
        record.state, record.report = LegacyImport.State.DONE, report.as_dict()
    finally:
        if record.uploaded_file:
            Path(record.uploaded_file).unlink(missing_ok=True)
    record.finished_at = timezone.now()
    record.save(update_fields=["state", "error", "report", "finished_at"])
    return record
