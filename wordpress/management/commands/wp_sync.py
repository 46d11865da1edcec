"""``wp_sync [NAME] [--full]``: sync now, print per-form counts, exit non-zero when a run fails."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from wordpress.models import SyncRun, WordPressSource
from wordpress.sync import COUNT_KEYS, sync_source


class Command(BaseCommand):
    help = "Sync WordPress sources now (all enabled ones, or the one named)."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?")
        parser.add_argument(
            "--full", action="store_true", help="Re-read every submission, not only new ones."
        )

    def handle(self, *args, name=None, full=False, **options):
        sources = WordPressSource.objects.all() if name else WordPressSource.objects.filter(enabled=True)
        if name:
            sources = sources.filter(name=name)
            if not sources.exists():
                raise CommandError(_("No source named “%(name)s”.") % {"name": name})
        failed = []
        for source in sources:
            run = sync_source(source, full=full, trigger=SyncRun.Trigger.COMMAND)
            self.stdout.write(f"{source.name}: {run.get_status_display()}")
            for form_id, counts in run.form_counts.items():
                numbers = " ".join(f"{key}={counts.get(key, 0)}" for key in COUNT_KEYS)
                error = f" error={counts['error']}" if counts.get("error") else ""
                self.stdout.write(f"  {_('form')} {form_id}: {numbers}{error}")
            if run.status != SyncRun.Status.SUCCEEDED:
                failed.append(source.name)
                self.stderr.write(f"{source.name}: {run.error}")
        if failed:
            raise CommandError(_("Sync failed for: %(names)s") % {"names": ", ".join(failed)})
