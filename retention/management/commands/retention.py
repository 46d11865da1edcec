"""``manage.py retention``: what a retention run would do now (a dry run); ``--apply`` runs it."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from retention import runs
from retention.models import RetentionRun


class Command(BaseCommand):
    help = "Report the rows the retention settings make due, per table; with --apply, change them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="Run now instead of reporting.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["apply"]:
            for line in runs.report():
                due = "off" if line.due is None else str(line.due)
                self.stdout.write(f"{line.key}\t{due}")
            return
        log = runs.run(RetentionRun.Trigger.COMMAND)
        if log is None:
            raise CommandError("A retention run is under way.")
        for key, count in log.counts.items():
            self.stdout.write(f"{key}\t{count}")
