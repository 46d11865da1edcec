"""``manage.py rebuild_dashboards``: recompute the team rollup from the lead events."""

import time

from django.core.management.base import BaseCommand

from dashboards import rollup
from dashboards.models import PersonDay


class Command(BaseCommand):
    help = "Recompute the dashboards' per-person daily rollup from the lead events."

    def handle(self, *args, **options):
        started = time.perf_counter()
        rollup.rebuild()
        self.stdout.write(f"{PersonDay.objects.count()} rollup rows in {time.perf_counter() - started:.1f} s")
