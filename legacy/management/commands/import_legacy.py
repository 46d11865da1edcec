"""``manage.py import_legacy <sqlite file or URL>``: bring the old Leads Manager's leads and history in."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from legacy.importer import import_legacy
from legacy.mapping import FORM_BRANDS, Report
from legacy.reader import LegacyDatabaseError


def _form_brand(text: str) -> tuple[int, str]:
    form, _sep, code = text.partition("=")
    if not form.strip().isdigit() or not code.strip():
        raise CommandError(f"--form-brand takes FORM_ID=BRAND_CODE, not {text!r}")
    return int(form), code.strip()


class Command(BaseCommand):
    help = (
        "Import the old Leads Manager's submissions, statuses, owners, management messages and status history "
        "from its SQLite file or a postgres:// (or, with PyMySQL installed, mysql://) URL. Re-running updates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="the old db.sqlite3, or a database URL")
        parser.add_argument("--dry-run", action="store_true", help="report what would happen, change nothing")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--form-brand",
            action="append",
            default=[],
            metavar="FORM_ID=BRAND_CODE",
            help=f"brand of an old form id (default {FORM_BRANDS})",
        )
        parser.add_argument("--no-rebuild", action="store_true", help="do not rebuild the dashboards' rollup")
        parser.add_argument("--json", action="store_true", help="print the whole report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        form_brands = dict(FORM_BRANDS)
        form_brands.update(_form_brand(text) for text in options["form_brand"])
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")

        def progress(report: Report, total: int) -> None:
            if options["verbosity"] > 1:
                self.stderr.write(f"{report.submissions}/{total}")

        try:
            report = import_legacy(
                options["source"],
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
                form_brands=form_brands,
                rebuild_dashboards=not options["no_rebuild"],
                progress=progress,
            )
        except LegacyDatabaseError as error:
            raise CommandError(str(error)) from error
        result = report.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            return
        verb = "would be" if report.dry_run else "were"
        self.stdout.write(
            f"{report.submissions} old submissions: {report.created} leads {verb} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.skipped} skipped; {report.events} events, {report.notes} notes "
            f"({report.seconds:.1f} s)"
        )
        for user in result["unknown_users"]:
            self.stdout.write(
                f"Unknown user {user['username']} <{user['email']}> (old id {user['id']}): owner of "
                f"{user['assignee']} submissions, {user['actor']} history rows; imported without them"
            )
        for status, count in result["unknown_statuses"].items():
            self.stdout.write(f"Unknown old status {status!r} on {count} rows: imported as pending")
        for skipped in result["errors"]:
            self.stdout.write(f"Skipped old submission {skipped['id']}: {skipped['error']}")
