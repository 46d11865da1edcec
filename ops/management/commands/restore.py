"""``manage.py restore ARCHIVE``: into an empty database, then every table checked against the backup."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ops.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database (--force: a non-empty one) and the media folders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument("--force", action="store_true", help="Restore over a database that has tables.")
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        archive: Path = options["archive"]
        if not archive.is_file():
            raise CommandError(_("No such archive: %(path)s") % {"path": archive})
        try:
            result = restore(archive, alias=options["database"], force=options["force"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            _(
                "Restored %(tables)d tables (%(rows)d rows) and %(files)d files; every table matches the backup."
            )
            % {"tables": result.tables, "rows": result.rows, "files": result.files}
        )
