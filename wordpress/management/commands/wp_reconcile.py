"""``wp_reconcile [NAME]``: per form, ids the site holds that the CRM lacks and the reverse; exit 1 on any."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from wordpress.client import SyncError
from wordpress.models import WordPressSource
from wordpress.sync import reconcile


def _ids(values, limit=50):
    shown = ", ".join(values[:limit])
    return shown + (f" … (+{len(values) - limit})" if len(values) > limit else "")


class Command(BaseCommand):
    help = "Compare each form's submissions on the site with the leads and quarantined records in the CRM."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?")

    def handle(self, *args, name=None, **options):
        sources = (
            WordPressSource.objects.filter(name=name)
            if name
            else WordPressSource.objects.filter(enabled=True)
        )
        if name and not sources.exists():
            raise CommandError(_("No source named “%(name)s”.") % {"name": name})
        differences = 0
        for source in sources:
            try:
                report = reconcile(source)
            except SyncError as error:
                raise CommandError(f"{source.name}: {error}") from error
            for form_id, entry in report.items():
                self.stdout.write(
                    f"{source.name} {_('form')} {form_id}: {_('site')} {entry['site']}, CRM {entry['crm']}, "
                    f"{_('missing')} {len(entry['missing'])}, {_('extra')} {len(entry['extra'])}"
                )
                if entry["missing"]:
                    self.stdout.write(f"  {_('missing')}: {_ids(entry['missing'])}")
                if entry["extra"]:
                    self.stdout.write(f"  {_('extra')}: {_ids(entry['extra'])}")
                differences += len(entry["missing"]) + len(entry["extra"])
        if differences:
            raise CommandError(_("%(count)s differences found.") % {"count": differences})
        self.stdout.write(self.style.SUCCESS(_("No differences.")))
