"""Registers the "WordPress" admin menu (sources, sync runs, quarantine) and its log actions."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks

from .viewsets import WordPressGroup


@hooks.register("register_admin_viewset")
def register_wordpress_viewsets():
    return WordPressGroup()


@hooks.register("register_log_actions")
def register_wordpress_log_actions(actions):
    actions.register_action("wordpress.sync_requested", _("Sync requested"), _("Sync requested"))
    actions.register_action(
        "wordpress.webhook_rotated", _("Webhook proof rotated"), _("Webhook proof rotated")
    )
