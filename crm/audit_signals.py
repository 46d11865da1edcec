"""What the audit trail hears without being called: sign-ins, listing exports and access changes.

- Sign-ins through Django's auth signals (a wrong second-factor code is a failed sign-in sent by
  ``crm.two_factor``) and django-axes' lockout.
- Every Wagtail listing export through ``core.spreadsheets.spreadsheet_exported``.
- A person's role, activation, groups, own permissions and brands, and a group's permissions, through model
  signals, whoever changes them (the admin, a bulk action, the shell). Group changes that only follow a
  role change (``User.sync_role_group``) are the role change, recorded once.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpRequest

from core.spreadsheets import spreadsheet_exported

from . import audit
from .models import Brand, User
from .models.people import ROLE_GROUP_NAMES, Role

_BEFORE = "_audit_before"
_CLEARED = "_audit_cleared"


# Sign-ins


def _signed_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit.record(audit.SIGNED_IN, user, target=audit.person_target(user), request=request)


def _signed_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit.record(audit.SIGNED_OUT, user, target=audit.person_target(user), request=request)


def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username") or "")[:150]
    step = "code" if sender == "crm.two_factor" else "password"
    audit.record(audit.SIGN_IN_FAILED, None, target=username, detail={"step": step}, request=request)


def _locked_out(sender: Any, request: HttpRequest | None = None, username: Any = None, **kwargs: Any) -> None:
    audit.record(audit.LOCKED_OUT, None, target=str(username or "")[:150], request=request)


# Exports


def _row_count(rows: Any) -> int:
    if isinstance(rows, QuerySet):
        return rows.count()
    try:
        return len(rows)
    except TypeError:
        return -1


def _spreadsheet_exported(sender: Any, view: Any, rows: Any, export_format: str, **kwargs: Any) -> None:
    name = str(view.get_filename()) if hasattr(view, "get_filename") else sender.__name__
    audit.record_export(view.request, name, _row_count(rows), export_format)


# People and permissions


def _user_before_save(sender: Any, instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.pk is None or (update_fields is not None and not {"role", "is_active"} & set(update_fields)):
        return
    before = sender.objects.filter(pk=instance.pk).values("role", "is_active").first()
    setattr(instance, _BEFORE, before)


def _user_saved(sender: Any, instance: User, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    target = audit.person_target(instance)
    if created:
        audit.record(
            audit.PEOPLE_CREATED,
            target=target,
            detail={"user_id": instance.pk, "role": instance.role, "is_active": instance.is_active},
        )
        return
    before = instance.__dict__.pop(_BEFORE, None)
    if not before:
        return
    if before["role"] != instance.role:
        audit.record(
            audit.ROLE_CHANGED,
            target=target,
            detail={"user_id": instance.pk, "from": before["role"], "to": instance.role},
        )
    if before["is_active"] != instance.is_active:
        audit.record(
            audit.ACTIVE_CHANGED,
            target=target,
            detail={"user_id": instance.pk, "from": before["is_active"], "to": instance.is_active},
        )


def _user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    audit.record(
        audit.PEOPLE_DELETED,
        target=audit.person_target(instance),
        detail={"user_id": instance.pk, "role": instance.role},
    )


def _names(model: Any, pks: set[int] | None) -> list[str]:
    if not pks:
        return []
    if model is Permission:
        rows = model.objects.filter(pk__in=pks).values_list("content_type__app_label", "codename")
        return sorted(f"{app}.{codename}" for app, codename in rows)
    if model is Brand:
        return sorted(model.objects.filter(pk__in=pks).values_list("code", flat=True))
    return sorted(str(name) for name in model.objects.filter(pk__in=pks).values_list("name", flat=True))


def _follows_role(user: User, group_names: list[str], added: bool) -> bool:
    """Whether a change of the person's role groups only brings them in step with their role."""
    role_groups = set(ROLE_GROUP_NAMES.values())
    own = ROLE_GROUP_NAMES.get(Role(user.role)) if user.role in Role.values else None
    if any(name not in role_groups for name in group_names):
        return False
    return all((name == own) == added for name in group_names)


def _user_m2m_changed(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A person's groups, own permissions or brands changed (from either side of the relation)."""
    if action not in ("post_add", "post_remove"):
        return
    if reverse:
        for user in User.objects.filter(pk__in=pk_set or ()):
            _user_m2m_changed(sender, user, action, False, type(instance), {instance.pk})
        return
    names = _names(model, pk_set)
    if not names:
        return
    added, removed = (names, []) if action == "post_add" else ([], names)
    if model is Group:
        if _follows_role(instance, added or removed, added=bool(added)):
            return
        code = audit.GROUPS_CHANGED
    elif model is Permission:
        code = audit.USER_PERMISSIONS_CHANGED
    else:
        code = audit.BRANDS_CHANGED
    audit.record(
        code,
        target=audit.person_target(instance),
        detail={"user_id": instance.pk, "added": added, "removed": removed},
    )


def _user_m2m_cleared(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, **kwargs: Any
) -> None:
    """``clear()`` sends no primary keys: read them before, record after."""
    if reverse:
        return
    related = getattr(instance, _accessor(sender))
    if action == "pre_clear":
        setattr(instance, _CLEARED, set(related.values_list("pk", flat=True)))
    elif action == "post_clear":
        pks = instance.__dict__.pop(_CLEARED, None)
        if pks:
            _user_m2m_changed(sender, instance, "post_remove", False, model, pks)


def _accessor(through: Any) -> str:
    return {
        User.groups.through: "groups",
        User.user_permissions.through: "user_permissions",
        User.brands.through: "brands",
    }[through]


def _group_permissions_changed(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if reverse or action not in ("post_add", "post_remove"):
        return
    names = _names(Permission, pk_set)
    if names:
        audit.record(
            audit.GROUP_PERMISSIONS_CHANGED,
            target=str(instance.name)[:255],
            detail={
                "group_id": instance.pk,
                "added": names if action == "post_add" else [],
                "removed": names if action == "post_remove" else [],
            },
        )


def _user_m2m(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("pre_clear", "post_clear"):
        _user_m2m_cleared(sender, action=action, **kwargs)
    else:
        _user_m2m_changed(sender, action=action, **kwargs)


def connect_signals() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="crm_audit_signed_in")
    user_logged_out.connect(_signed_out, dispatch_uid="crm_audit_signed_out")
    user_login_failed.connect(_sign_in_failed, dispatch_uid="crm_audit_sign_in_failed")
    user_locked_out.connect(_locked_out, dispatch_uid="crm_audit_locked_out")
    spreadsheet_exported.connect(_spreadsheet_exported, dispatch_uid="crm_audit_spreadsheet_exported")
    pre_save.connect(_user_before_save, sender=User, dispatch_uid="crm_audit_user_before_save")
    post_save.connect(_user_saved, sender=User, dispatch_uid="crm_audit_user_saved")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid="crm_audit_user_deleted")
    for through in (User.groups.through, User.user_permissions.through, User.brands.through):
        m2m_changed.connect(_user_m2m, sender=through, dispatch_uid=f"crm_audit_{through.__name__}")
    m2m_changed.connect(
        _group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid="crm_audit_group_permissions",
    )
