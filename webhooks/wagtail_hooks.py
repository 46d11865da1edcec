"""Registers Settings → Webhooks (subscriptions and their delivery log) and the log actions."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from wagtail import hooks

from .viewsets import DeliveryViewSet, SubscriptionViewSet


@hooks.register("register_admin_viewset")
def register_webhook_viewsets() -> list[Any]:
    return [SubscriptionViewSet(), DeliveryViewSet()]


@hooks.register("register_log_actions")
def register_webhook_log_actions(actions: Any) -> None:
    actions.register_action("webhooks.resume", _("Webhook resumed"), _("Webhook resumed"))
    actions.register_action("webhooks.rotate", _("Webhook secret rotated"), _("Webhook secret rotated"))
    actions.register_action("webhooks.test", _("Webhook test event sent"), _("Webhook test event sent"))
    actions.register_action("webhooks.resend", _("Webhook delivery resent"), _("Webhook delivery resent"))
