from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("Alerts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wagtail.permissions import register_permission_policy

        from crm.brand_scope import BrandScopedPermissionPolicy

        from .models import AlertRule
        from .signals import connect

        connect()
        # Managers reach the rules limited to their own brands; rules for every brand are admins'.
        register_permission_policy(AlertRule, BrandScopedPermissionPolicy(AlertRule, brand_field="brands"))
