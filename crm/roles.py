"""Roles: which Wagtail group each role is, what it may do, and who may manage whom.

The role field is the single source of truth; group membership and the superuser flag follow it.
"""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.contrib.auth.models import AnonymousUser
from django.db.models.signals import m2m_changed

from .models.people import ROLE_GROUP_NAMES, Role, User

_ADMIN_ACCESS = ["wagtailadmin.access_admin"]
_LEAD_WORK = [
    "crm.view_lead",
    "crm.add_lead",
    "crm.change_lead",
    "crm.view_leadevent",
]
_LEAD_MANAGEMENT = _LEAD_WORK + [
    "crm.assign_lead",
    "crm.export_lead",
    "crm.merge_lead",
]
_CATALOGUES = [
    f"crm.{action}_{model}"
    for model in ("service", "source", "campaign")
    for action in ("add", "change", "view")
] + ["crm.view_pipelinestatus", "crm.view_lostreason", "crm.view_exchangerate"]
_RULES = [
    f"crm.{action}_{model}"
    for model in ("classificationrule", "assignmentrule", "contacttemplate")
    for action in ("add", "change", "delete", "view")
]
_PEOPLE_MANAGEMENT = [
    "crm.add_user",
    "crm.change_user",
    "crm.add_invitation",
    "crm.view_invitation",
    "crm.delete_invitation",
]
_DASHBOARDS = [
    "dashboards.view_dashboards",
    "dashboards.view_campaign_dashboard",
    "dashboards.change_dashboardsettings",
]

_WORDPRESS = [
    "wordpress.add_wordpresssource",
    "wordpress.change_wordpresssource",
    "wordpress.delete_wordpresssource",
    "wordpress.view_wordpresssource",
    "wordpress.view_syncrun",
    "wordpress.view_quarantinedsubmission",
    "wordpress.change_quarantinedsubmission",
]

ROLE_PERMISSIONS = {
    Role.ADMIN: _ADMIN_ACCESS
    + _LEAD_MANAGEMENT
    + _CATALOGUES
    + _RULES
    + _PEOPLE_MANAGEMENT
    + [
        "crm.delete_user",
        "crm.add_pipelinestatus",
        "crm.change_pipelinestatus",
        "crm.delete_pipelinestatus",
        "crm.add_lostreason",
        "crm.change_lostreason",
        "crm.add_exchangerate",
        "crm.change_exchangerate",
        "crm.delete_exchangerate",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
    ]
    + _DASHBOARDS
    + _WORDPRESS,
    Role.MANAGER: _ADMIN_ACCESS + _LEAD_MANAGEMENT + _CATALOGUES + _RULES + _PEOPLE_MANAGEMENT + _DASHBOARDS,
    Role.EMPLOYEE: _ADMIN_ACCESS + _LEAD_WORK,
    Role.MARKETING: _ADMIN_ACCESS
    + ["crm.view_campaign", "crm.add_campaign", "crm.change_campaign", "crm.view_service", "crm.view_source"]
    + ["forms_builder.view_form_report", "dashboards.view_campaign_dashboard"],
}

# Alerts: managers and admins edit the rules; admins read the delivery log and resend.
_ALERT_RULES = [f"alerts.{action}_alertrule" for action in ("add", "change", "delete", "view")]
ROLE_PERMISSIONS[Role.ADMIN] += _ALERT_RULES + ["alerts.view_notification", "alerts.resend_notification"]
ROLE_PERMISSIONS[Role.MANAGER] += _ALERT_RULES

# Customer accounts (customers app): everyone working leads reads those within their reach; managers and
# admins edit them; admins delete them. Converting a won lead asks for the right to edit the lead.
_ACCOUNTS_READ = ["customers.view_account"]
_ACCOUNTS_EDIT = _ACCOUNTS_READ + ["customers.add_account", "customers.change_account"]
ROLE_PERMISSIONS[Role.ADMIN] += _ACCOUNTS_EDIT + ["customers.delete_account"]
ROLE_PERMISSIONS[Role.MANAGER] += _ACCOUNTS_EDIT
ROLE_PERMISSIONS[Role.EMPLOYEE] += _ACCOUNTS_READ

# Roles each role may give to people it manages (invite, create, edit).
GRANTABLE_ROLES: dict[str, list[Role]] = {
    Role.ADMIN: [Role.ADMIN, Role.MANAGER, Role.EMPLOYEE, Role.MARKETING],
    Role.MANAGER: [Role.EMPLOYEE, Role.MARKETING],
    Role.EMPLOYEE: [],
    Role.MARKETING: [],
}


def grantable_roles(actor: User | AnonymousUser) -> list[Role]:
    if not actor.is_authenticated or not actor.is_active:
        return []
    return GRANTABLE_ROLES.get(actor.role, [])


def _keep_groups_in_step(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Undo any group change that would make membership disagree with the role."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        instance.sync_role_group()
        return
    if pk_set:
        users = model.objects.filter(pk__in=pk_set)
    else:
        roles = [role for role, name in ROLE_GROUP_NAMES.items() if name == instance.name]
        users = model.objects.filter(role__in=roles)
    for user in users:
        user.sync_role_group()


def connect_signals(user_model: type[User]) -> None:
    m2m_changed.connect(
        _keep_groups_in_step, sender=user_model.groups.through, dispatch_uid="crm_role_groups_in_step"
    )


def apply_role_permissions(apps: Apps | None = None, schema_editor: Any = None) -> None:
    """Create each role's group with exactly its permissions. Used by migrations and post_migrate."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    if apps is not global_apps:
        # Historical app registries have no permissions yet on a fresh database.
        for app_config in apps.get_app_configs():
            app_config.models_module = True  # type: ignore[assignment]  # any true value: "has models"
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None
    GroupModel = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _created = GroupModel.objects.get_or_create(name=ROLE_GROUP_NAMES[role])
        permissions: list[Any] = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)
