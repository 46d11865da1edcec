from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    """Customer accounts: won leads converted into accounts with their contacts, suggested on later leads."""

    name = "customers"
    verbose_name = _("Customers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wagtail.permissions import register_permission_policy

        from .access import AccountPermissionPolicy
        from .models import Account

        register_permission_policy(Account, AccountPermissionPolicy(Account))
