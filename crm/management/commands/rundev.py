"""``runserver`` for development; without REDIS_URL it also runs the periodic jobs in a background thread."""

import os
import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand

from intralog import jobs


class Command(BaseCommand):
    help = "Development server; with the embedded job queue, also runs the periodic schedule in-process."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--noreload", action="store_true")

    def handle(self, *args, addrport, noreload, **options):
        serving_process = noreload or os.environ.get("RUN_MAIN") == "true"
        if jobs.is_embedded() and serving_process:
            stop = threading.Event()
            threading.Thread(
                target=jobs.run_embedded_worker, args=(stop,), name="embedded-jobs", daemon=True
            ).start()
        call_command("runserver", addrport, use_reloader=not noreload)
