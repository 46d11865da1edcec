from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    """Conversations with leads on the lead page: WhatsApp through the brands' numbers (email can join)."""

    name = "conversations"
    verbose_name = _("Conversations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from core.whatsapp import webhook_received
        from crm import lead_flags

        from . import flags, inbound, models

        webhook_received.connect(inbound.on_webhook, dispatch_uid="conversations_on_whatsapp_webhook")
        post_save.connect(
            inbound.on_number_saved, sender=models.WhatsAppNumber, dispatch_uid="conversations_number_saved"
        )
        lead_flags.register("conversations_opted_out", flags.opted_out)
