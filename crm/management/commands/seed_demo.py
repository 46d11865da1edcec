"""Demo data for a fresh install: brands, one user per role, and (from other features) sample data."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from crm.demo import seed_people


class Command(BaseCommand):
    help = "Create idempotent demo data and print the demo logins."

    def handle(self, *args, **options):
        logins = seed_people()
        self.stdout.write(self.style.SUCCESS(_("Demo logins (sign in at http://127.0.0.1:8000/admin/):")))
        for username, password, role in logins:
            self.stdout.write(f"  {role:<10} {username:<12} {password}")
