"""The role decides the group and the superuser flag; each role group has exactly its permissions."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management.sql import emit_post_migrate_signal

from crm.models import Role, User
from crm.people import can_manage_user, manageable_users
from crm.roles import GRANTABLE_ROLES, ROLE_GROUP_NAMES, ROLE_PERMISSIONS, apply_role_permissions


def group_names(user):
    return sorted(user.groups.values_list("name", flat=True))


@pytest.mark.parametrize("role", list(Role))
def test_each_role_group_has_exactly_its_permissions(db, role):
    group = Group.objects.get(name=ROLE_GROUP_NAMES[role])
    actual = {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list("content_type__app_label", "codename")
    }
    assert actual == set(ROLE_PERMISSIONS[role])


def test_every_listed_permission_exists(db):
    for codenames in ROLE_PERMISSIONS.values():
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), (
                dotted
            )


def test_extra_permissions_are_removed_again(db):
    group = Group.objects.get(name=ROLE_GROUP_NAMES[Role.EMPLOYEE])
    group.permissions.add(Permission.objects.get(codename="delete_user"))
    apply_role_permissions()
    assert not group.permissions.filter(codename="delete_user").exists()


def test_migrate_reapplies_role_permissions(db):
    """Every migrate ends with post_migrate, which puts each role's exact permissions back."""
    group = Group.objects.get(name=ROLE_GROUP_NAMES[Role.MARKETING])
    group.permissions.clear()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default", plan=[])
    assert group.permissions.count() == len(ROLE_PERMISSIONS[Role.MARKETING])


@pytest.mark.parametrize("role", list(Role))
def test_role_decides_group_and_superuser(make_user, role):
    user = make_user("someone", role)
    assert group_names(user) == [ROLE_GROUP_NAMES[role]]
    assert user.is_superuser == (role == Role.ADMIN)


def test_changing_role_moves_group(employee):
    employee.role = Role.MANAGER
    employee.save()
    assert group_names(employee) == ["Managers"]
    assert not employee.is_superuser
    employee.role = Role.ADMIN
    employee.save()
    assert group_names(employee) == ["Admins"]
    assert employee.is_superuser


def test_group_changes_from_either_side_are_undone(employee, other_employee):
    admins = Group.objects.get(name="Admins")
    employee.groups.add(admins)
    assert group_names(employee) == ["Employees"]
    admins.user_set.add(other_employee)
    assert group_names(other_employee) == ["Employees"]
    employee.groups.clear()
    assert group_names(employee) == ["Employees"]
    Group.objects.get(name="Employees").user_set.remove(employee)
    assert group_names(employee) == ["Employees"]


def test_superuser_flag_cannot_be_set_apart_from_the_role(employee):
    employee.is_superuser = True
    employee.save()
    employee.refresh_from_db()
    assert not employee.is_superuser


def test_role_and_group_agree_for_all_users(admin_user, manager, employee, marketer):
    for user in User.objects.all():
        assert group_names(user) == [ROLE_GROUP_NAMES[Role(user.role)]]


def test_grantable_roles():
    assert GRANTABLE_ROLES[Role.MANAGER] == [Role.EMPLOYEE, Role.MARKETING]
    assert GRANTABLE_ROLES[Role.EMPLOYEE] == []
    assert GRANTABLE_ROLES[Role.MARKETING] == []


def test_manageable_users(
    admin_user, manager, other_manager, employee, intrapal_employee, marketer, make_user
):
    brandless = make_user("brandless", Role.EMPLOYEE, ())
    assert set(manageable_users(manager)) == {employee, marketer}
    assert set(manageable_users(other_manager)) == {intrapal_employee, marketer}
    assert set(manageable_users(admin_user)) == set(User.objects.all())
    assert not manageable_users(employee).exists()
    assert not can_manage_user(manager, brandless)
    assert not can_manage_user(manager, other_manager)
    manager.is_active = False
    manager.save()
    assert not manageable_users(manager).exists()
