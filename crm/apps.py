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
        from . import account, audit_signals, roles, two_factor  # noqa: F401 (account registers its settings panel)
        from .admin_display import register_display_classes
        from .models import User

        roles.connect_signals(User)
        two_factor.connect_signals()
        audit_signals.connect_signals()
        _register_permission_policies()
        register_display_classes()
        post_migrate.connect(_apply_role_permissions, dispatch_uid="crm_apply_role_permissions")


def _register_permission_policies():
    from axes.models import AccessAttempt
    from wagtail.permissions import register_permission_policy

    from core.permission_policies import LimitedActionsPolicy

    from .brand_scope import BrandScopedPermissionPolicy
    from .models import (
        AssignmentRule,
        AuditEntry,
        Campaign,
        ClassificationRule,
        ContactTemplate,
        Invitation,
        Service,
    )
    from .people import InvitationPermissionPolicy

    register_permission_policy(Invitation, InvitationPermissionPolicy(Invitation))
    # The audit trail is read, never written from the admin (admins are superusers: only "view" is allowed).
    register_permission_policy(AuditEntry, LimitedActionsPolicy(AuditEntry, {"view"}))
    register_permission_policy(AccessAttempt, LimitedActionsPolicy(AccessAttempt, {"view", "delete"}))
    for model in (ClassificationRule, AssignmentRule, ContactTemplate):
        register_permission_policy(model, BrandScopedPermissionPolicy(model))
    for model in (Service, Campaign):
        register_permission_policy(model, BrandScopedPermissionPolicy(model, brandless_for_all=True))


def _apply_role_permissions(sender, app_config=None, **kwargs):
    from django.apps import apps

    from .roles import apply_role_permissions

    if kwargs.get("plan") is None:
        # Sent by ``flush`` (tests), not ``migrate``: serialized test data brings the groups back.
        return
    # Run once, after every app's permissions exist (post_migrate is sent only for apps with models).
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if app_config is not None and app_config is with_models[-1]:
        apply_role_permissions()


class UsersAppConfig(WagtailUsersAppConfig):
    """Wagtail's users app with the CRM's role-aware user views."""

    user_viewset = "crm.viewsets.people.UserViewSet"

    def ready(self):
        super().ready()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from wagtail.permissions import register_permission_policy

        from core.permission_policies import LimitedActionsPolicy

        from .people import UserPermissionPolicy

        User = get_user_model()
        # exact_class wins over the plain policies Wagtail's ready() registered.
        register_permission_policy(User, UserPermissionPolicy(User), exact_class=True)
        # Role groups are made from crm.roles.ROLE_PERMISSIONS; nobody edits them by hand.
        register_permission_policy(Group, LimitedActionsPolicy(Group, {"view"}), exact_class=True)
