from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Shared, domain-free infrastructure: bulk writes, job queues, spreadsheets, client addresses."""

    name = "core"
    verbose_name = _("Infrastructure")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import lookups
        from .spreadsheets import protect_wagtail_exports

        protect_wagtail_exports()
        lookups.register()
