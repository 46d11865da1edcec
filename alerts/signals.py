"""Wiring: lead events and integration failures feed the outbox; changes to rules or people reload them."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from core.whatsapp import webhook_received
from crm.models import PipelineStatus, User
from crm.signals import integration_failed, lead_event_recorded, lead_events_recorded

from . import rules, services
from .channels import whatsapp
from .models import AlertPreferences, AlertRule


def connect() -> None:
    lead_event_recorded.connect(services.on_lead_event, dispatch_uid="alerts_on_lead_event")
    lead_events_recorded.connect(services.on_lead_events, dispatch_uid="alerts_on_lead_events")
    integration_failed.connect(services.on_integration_failed, dispatch_uid="alerts_on_integration_failed")
    webhook_received.connect(whatsapp.on_webhook, dispatch_uid="alerts_on_whatsapp_webhook")
    for model in (AlertRule, AlertPreferences, User, PipelineStatus):
        post_save.connect(rules.invalidate, sender=model, dispatch_uid=f"alerts_reload_save_{model.__name__}")
        post_delete.connect(
            rules.invalidate, sender=model, dispatch_uid=f"alerts_reload_delete_{model.__name__}"
        )
    for through in (
        AlertRule.statuses.through,
        AlertRule.brands.through,
        AlertRule.services.through,
        AlertRule.sources.through,
        AlertRule.campaigns.through,
        AlertRule.users.through,
        User.brands.through,
    ):
        m2m_changed.connect(
            rules.invalidate, sender=through, dispatch_uid=f"alerts_reload_m2m_{through.__name__}"
        )
