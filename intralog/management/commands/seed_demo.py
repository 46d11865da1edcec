"""Demo data for a fresh install (``intralog.demo``), then the demo logins."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.demo import seed_people
from intralog import demo


class Command(BaseCommand):
    help = "Create idempotent demo data and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--leads", type=int, default=5000, help="How many demo leads to have (default 5000)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        demo.seed(self.stdout, options)
        logins = seed_people()
        admin_url = settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse("wagtailadmin_home")
        self.stdout.write(self.style.SUCCESS(_("Demo logins (sign in at %(url)s):") % {"url": admin_url}))
        for username, password, role in logins:
            self.stdout.write(f"  {role:<10} {username:<12} {password}")
