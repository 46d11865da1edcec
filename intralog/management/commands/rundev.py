"""``runserver`` for development, with what ``make run`` needs beside it: the periodic schedule and job
queues in-process (without REDIS_URL) and the demo WordPress site the demo source syncs from."""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from io import TextIOBase
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from core import jobs
from wordpress.demo import serve_demo_site
from wordpress.fake import FakeWordPress


@contextmanager
def dev_services(
    stdout: TextIOBase, *, embedded_jobs: bool = True, demo_wordpress: bool = True
) -> Iterator[FakeWordPress | None]:
    """Run the embedded job worker (without Redis) and the demo WordPress site until the block ends.

    Yields the demo site (None when it is not served).
    """
    stop = threading.Event()
    site = None
    try:
        if embedded_jobs and jobs.is_embedded():
            threading.Thread(
                target=jobs.run_embedded_worker, args=(stop,), name="embedded-jobs", daemon=True
            ).start()
        if demo_wordpress:
            site = serve_demo_site()
            if site is not None:
                stdout.write(
                    _("Demo WordPress site on %(url)s (the demo source syncs from it).") % {"url": site.url}
                )
        yield site
    finally:
        stop.set()
        if site is not None:
            site.stop()


class Command(BaseCommand):
    help = "Development server; also runs the periodic schedule in-process (without Redis) and the demo WordPress site."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--noreload", action="store_true")
        parser.add_argument(
            "--no-demo-wordpress", action="store_true", help="Do not serve the demo WordPress site."
        )

    def handle(
        self, *args: Any, addrport: str, noreload: bool, no_demo_wordpress: bool, **options: Any
    ) -> None:
        serving_process = noreload or os.environ.get("RUN_MAIN") == "true"
        if not serving_process:  # the autoreloader's parent: it only restarts the serving child
            call_command("runserver", addrport, use_reloader=True)
            return
        with dev_services(self.stdout, demo_wordpress=not no_demo_wordpress):
            call_command("runserver", addrport, use_reloader=not noreload)
