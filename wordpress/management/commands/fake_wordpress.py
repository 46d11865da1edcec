"""``fake_wordpress --port P``: run the fake WordPress site (for demos and manual testing) until Ctrl-C."""

import time

from django.core.management.base import BaseCommand

from wordpress.fake import FakeWordPress


class Command(BaseCommand):
    help = "Serve generated Spanish submissions in the three WordPress shapes on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--per-form", type=int, default=50, help="Submissions per form (forms 3, 4, 5, 7)."
        )
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, port, per_form, seed, **options):
        site = FakeWordPress(forms={"3": per_form, "4": per_form, "5": per_form, "7": per_form}, seed=seed)
        site.start(port)
        self.stdout.write(
            f"Fake WordPress on {site.url}  (user {site.username!r}, password {site.password!r})"
        )
        self.stdout.write(f"  legacy:     {site.legacy_url}")
        self.stdout.write(f"  gravity:    {site.gravity_url}")
        self.stdout.write(f"  collection: {site.collection_url}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            site.stop()
