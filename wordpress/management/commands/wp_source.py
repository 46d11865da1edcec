"""``wp_source add|list|show|remove``: manage WordPress sources from the command line."""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from wordpress.models import WordPressSource
from wordpress.services import create_source, parse_form_spec


class Command(BaseCommand):
    help = "Add, list, show or remove WordPress sources. The password is read from an environment variable."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="Add a source.")
        add.add_argument("name")
        add.add_argument("--shape", required=True, choices=WordPressSource.Shape.values)
        add.add_argument("--url", required=True)
        add.add_argument("--user", default="")
        add.add_argument("--password-env", help="Environment variable holding the application password.")
        add.add_argument("--timezone", default="America/Argentina/Buenos_Aires")
        add.add_argument("--form", action="append", default=[], help="ID:BRAND[:SERVICE], repeatable.")
        add.add_argument("--slug", default="")
        add.add_argument("--interval", type=int, default=5, help="Minutes between syncs.")
        actions.add_parser("list", help="List sources.")
        show = actions.add_parser("show", help="Show one source (never its password).")
        show.add_argument("name")
        remove = actions.add_parser("remove", help="Remove a source (its leads stay).")
        remove.add_argument("name")

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

    def _get(self, name):
        source = WordPressSource.objects.filter(name=name).first()
        if source is None:
            raise CommandError(_("No source named “%(name)s”.") % {"name": name})
        return source

    def handle_add(self, name, shape, url, user, password_env, timezone, form, slug, interval, **options):  # noqa: PLR0913 - known debt (ARCHITECTURE.md, Habits)
        password = ""
        if password_env:
            if password_env not in os.environ:
                raise CommandError(_("The environment variable %(var)s is not set.") % {"var": password_env})
            password = os.environ[password_env]
        if not form:
            raise CommandError(_("Give at least one --form ID:BRAND."))
        try:
            forms = [parse_form_spec(spec) for spec in form]
            source = create_source(
                name, shape, url, user, password, timezone, forms, slug=slug, interval_minutes=interval
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(
            self.style.SUCCESS(
                _("Added source “%(name)s” (%(slug)s).") % {"name": source.name, "slug": source.slug}
            )
        )

    def handle_list(self, **options):
        sources = WordPressSource.objects.prefetch_related("forms")
        if not sources:
            self.stdout.write(_("No sources."))
        for source in sources:
            forms = ",".join(form.form_id for form in source.forms.all())
            state = _("enabled") if source.enabled else _("disabled")
            self.stdout.write(
                f"{source.name}\t{source.shape}\t{state}\t{source.get_health_display()}\t{_('forms')}: {forms}\t{source.url}"
            )

    def handle_show(self, name, **options):
        source = self._get(name)
        lines = [
            (_("Name"), source.name),
            (_("Slug"), source.slug),
            (_("Shape"), source.get_shape_display()),
            (_("URL"), source.url),
            (_("Username"), source.username),
            (_("Application password"), _("set") if source.has_password else _("not set")),
            (_("Time zone"), source.timezone),
            (_("Enabled"), _("yes") if source.enabled else _("no")),
            (_("Interval (minutes)"), source.interval_minutes),
            (_("Health"), source.get_health_display()),
            (_("Last success"), source.last_success_at or "-"),
            (_("Last error"), source.last_error or "-"),
            (_("Consecutive failures"), source.consecutive_failures),
        ]
        for label, value in lines:
            self.stdout.write(f"{label}: {value}")
        for form in source.forms.select_related("brand", "default_service"):
            service = form.default_service or "-"
            self.stdout.write(
                f"  {_('form')} {form.form_id}: {form.brand} · {service} · {_('cursor')} {form.cursor}"
            )

    def handle_remove(self, name, **options):
        source = self._get(name)
        source.delete()
        self.stdout.write(self.style.SUCCESS(_("Removed source “%(name)s”.") % {"name": name}))
