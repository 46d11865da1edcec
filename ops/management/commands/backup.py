"""``manage.py backup``: one compressed, timestamped archive of the database and the uploaded files."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ops.backup import BackupError, backup, read_manifest


class Command(BaseCommand):
    help = "Back up the database, MEDIA_ROOT and the conversations' private files into one archive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=None, help="Directory (default BACKUP_DIR).")
        parser.add_argument("--keep", type=int, default=None, help="Archives kept (default BACKUP_KEEP).")
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = options["output"] or Path(settings.BACKUP_DIR)
        keep = options["keep"] if options["keep"] is not None else settings.BACKUP_KEEP
        try:
            path = backup(directory, keep=keep, alias=options["database"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        manifest = read_manifest(path)
        rows = sum(count for count, _sum in manifest["tables"].values())
        self.stdout.write(
            _("%(path)s (%(tables)d tables, %(rows)d rows, %(files)d files)")
            % {"path": path, "tables": len(manifest["tables"]), "rows": rows, "files": manifest["files"]}
        )
