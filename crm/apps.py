from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _
from wagtail.users.apps import WagtailUsersAppConfig


class CrmConfig(AppConfig):
    default = True
    name = "crm"
    verbose_name = _("CRM")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import roles
        from .models import User

        roles.connect_signals(User)
        post_migrate.connect(_apply_role_permissions, dispatch_uid="crm_apply_role_permissions")


def _apply_role_permissions(sender, app_config=None, **kwargs):
    from django.apps import apps

    from .roles import apply_role_permissions

    # Run once, after every app's permissions exist.
    if app_config is not None and app_config is list(apps.get_app_configs())[-1]:
        apply_role_permissions()


class UsersAppConfig(WagtailUsersAppConfig):
    """Wagtail's users app with the CRM's role-aware user views."""

    user_viewset = "crm.viewsets.people.UserViewSet"
