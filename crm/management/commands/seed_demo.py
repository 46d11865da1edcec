"""Demo data for a fresh install. Each app may offer ``<app>.demo.seed(stdout, options)``; all run in order."""

from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.demo import seed_people


class Command(BaseCommand):
    help = "Create idempotent demo data and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--leads", type=int, default=5000, help="How many demo leads to have (default 5000)."
        )

    def handle(self, *args, **options):
        for app_config in apps.get_app_configs():
            if not app_config.name.startswith(
                ("crm", "home", "forms_builder", "dashboards", "wordpress", "alerts")
            ):
                continue
            try:
                module = import_module(f"{app_config.name}.demo")
            except ModuleNotFoundError as error:
                if error.name != f"{app_config.name}.demo":
                    raise
                continue
            if hasattr(module, "seed"):
                module.seed(self.stdout, options)
        logins = seed_people()
        admin_url = settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse("wagtailadmin_home")
        self.stdout.write(self.style.SUCCESS(_("Demo logins (sign in at %(url)s):") % {"url": admin_url}))
        for username, password, role in logins:
            self.stdout.write(f"  {role:<10} {username:<12} {password}")
