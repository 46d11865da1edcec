"""``manage.py probe URL``: exit 0 once the URL answers 200, non-zero otherwise."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ops.probe import wait_for


class Command(BaseCommand):
    help = "Wait for a health URL (e.g. http://127.0.0.1:8000/healthz) to answer 200."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url")
        parser.add_argument("--wait", type=float, default=0, help="Seconds to keep trying (default: once).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            status = wait_for(options["url"], options["wait"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        if status != 200:
            raise CommandError(
                _("%(url)s answered %(status)s.") % {"url": options["url"], "status": status or _("nothing")}
            )
        self.stdout.write(_("%(url)s answered 200.") % {"url": options["url"]})
