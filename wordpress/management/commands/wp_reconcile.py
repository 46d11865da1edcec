"""``wp_reconcile [NAME]``: per form and status, ids the site holds that the CRM lacks, the reverse, and ids
held under another status (spam, trash) than the site's; exit 1 on any."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from wordpress.client import SyncError
from wordpress.connectors import pulled_shapes
from wordpress.models import WordPressSource
from wordpress.reconcile import reconcile


def _ids(values: list[str], limit: int = 50) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" … (+{len(values) - limit})" if len(values) > limit else "")


class Command(BaseCommand):
    help = (
        "Compare each form's submissions on the site with the leads and quarantined records in the CRM, "
        "status by status (active, spam, trash)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?")

    def handle(self, *args: Any, name: str | None = None, **options: Any) -> None:
        sources = (
            WordPressSource.objects.filter(name=name)
            if name
            else WordPressSource.objects.filter(enabled=True)
        )
        if name and not sources.exists():
            raise CommandError(_("No source named “%(name)s”.") % {"name": name})
        differences = 0
        other_status = _("other status")
        for source in sources:
            try:
                report = reconcile(source)
            except SyncError as error:
                raise CommandError(f"{source.name}: {error}") from error
            for form_id, entry in report.items():
                mismatched = entry.get("mismatched", [])
                self.stdout.write(
                    f"{source.name} {_('form')} {form_id}: {_('site')} {entry['site']}, CRM {entry['crm']}, "
                    f"{_('missing')} {len(entry['missing'])}, {_('extra')} {len(entry['extra'])}, "
                    f"{other_status} {len(mismatched)}"
                )
                if entry["missing"]:
                    self.stdout.write(f"  {_('missing')}: {_ids(entry['missing'])}")
                if entry["extra"]:
                    self.stdout.write(f"  {_('extra')}: {_ids(entry['extra'])}")
                    if pulled_shapes()[source.shape].HIDES_FLAGGED:
                        self.stdout.write(
                            "  "
                            + _(
                                "This endpoint stops listing what the site marks spam or trashes: the next "
                                "complete re-scan marks these removed (“wp_sync %(name)s --full” does it now)."
                            )
                            % {"name": source.name}
                        )
                if mismatched:
                    shown = [f"{key} ({_('site')} {site}, CRM {held})" for key, site, held in mismatched]
                    self.stdout.write(f"  {other_status}: {_ids(shown)}")
                differences += len(entry["missing"]) + len(entry["extra"]) + len(mismatched)
        if differences:
            raise CommandError(_("%(count)s differences found.") % {"count": differences})
        self.stdout.write(self.style.SUCCESS(_("No differences.")))
