"""Wiring: lead events feed the outbox; saving a subscription tells every process to look again."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from crm.signals import lead_event_recorded, lead_events_recorded

from . import interest, outbox
from .models import Subscription


def connect() -> None:
    lead_event_recorded.connect(outbox.on_lead_event, dispatch_uid="webhooks_on_lead_event")
    lead_events_recorded.connect(outbox.on_lead_events, dispatch_uid="webhooks_on_lead_events")
    post_save.connect(interest.invalidate, sender=Subscription, dispatch_uid="webhooks_subscription_saved")
    post_delete.connect(
        interest.invalidate, sender=Subscription, dispatch_uid="webhooks_subscription_deleted"
    )
    m2m_changed.connect(
        interest.invalidate, sender=Subscription.brands.through, dispatch_uid="webhooks_subscription_brands"
    )
