from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WordpressConfig(AppConfig):
    name = "wordpress"
    verbose_name = _("WordPress sync")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm import system_notes

        from .mapping import FLAGGED_UPSTREAM, RESTORED_UPSTREAM, flagged_message, restored_message

        system_notes.register(FLAGGED_UPSTREAM, flagged_message)
        system_notes.register(RESTORED_UPSTREAM, restored_message)
