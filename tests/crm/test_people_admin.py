"""User management in the Wagtail admin: what each role can see and do, and forged POSTs that must fail."""

import pytest
from django import forms
from django.urls import reverse

from crm.models import Role, User

NEW_PASSWORD = "quiet-lantern-orchard-71"


def user_form(brand_map, **overrides):
    data = {
        "username": "newperson",
        "email": "newperson@example.com",
        "first_name": "Nueva",
        "last_name": "Persona",
        "role": Role.EMPLOYEE,
        "brands": [brand_map["intralog"].pk],
        "phone": "",
        "whatsapp": "",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "is_active": "on",
    }
    data.update(overrides)
    return data


def edit_form(user, **overrides):
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name or "First",
        "last_name": user.last_name or "Last",
        "role": user.role,
        "brands": [brand.pk for brand in user.brands.all()],
        "phone": "",
        "whatsapp": "",
        "password1": "",
        "password2": "",
        "is_active": "on" if user.is_active else "",
    }
    data.update(overrides)
    return data


def assert_denied(response):
    """Wagtail turns PermissionDenied into a redirect to the dashboard with an error message."""
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"] in (reverse("wagtailadmin_home"),) or response["Location"].startswith(
            reverse("wagtailadmin_login")
        )


def index_usernames(client):
    response = client.get(reverse("wagtailusers_users:index"))
    assert response.status_code == 200
    return {user.username for user in response.context["object_list"]}


def bulk_url(action, *users):
    ids = "&".join(f"id={user.pk}" for user in users)
    return reverse("wagtail_bulk_action", args=("crm", "user", action)) + "?" + ids


# Listing


def test_admin_lists_everyone(client_for, admin_user, manager, other_manager, employee, marketer):
    assert index_usernames(client_for(admin_user)) >= {
        "admin1",
        "manager1",
        "manager2",
        "employee1",
        "marketing1",
    }


def test_manager_lists_only_employees_and_marketing_of_their_brands(
    client_for, admin_user, manager, other_manager, employee, intrapal_employee, marketer
):
    assert index_usernames(client_for(manager)) == {"employee1", "marketing1"}


@pytest.mark.parametrize("role_fixture", ["employee", "marketer"])
def test_employees_and_marketing_have_no_user_admin(request, client_for, role_fixture, other_employee):
    client = client_for(request.getfixturevalue(role_fixture))
    assert_denied(client.get(reverse("wagtailusers_users:index")))
    assert_denied(client.get(reverse("wagtailusers_users:add")))
    assert_denied(client.get(reverse("wagtailusers_users:edit", args=[other_employee.pk])))
    response = client.post(
        reverse("wagtailusers_users:edit", args=[other_employee.pk]),
        edit_form(other_employee, first_name="Hacked"),
    )
    assert_denied(response)
    other_employee.refresh_from_db()
    assert other_employee.first_name != "Hacked"


# Creating


def test_form_has_role_fields_and_no_groups_or_superuser(client_for, admin_user):
    response = client_for(admin_user).get(reverse("wagtailusers_users:add"))
    form = response.context["form"]
    assert {"role", "brands", "phone", "whatsapp"} <= set(form.fields)
    assert "groups" not in form.fields
    assert "is_superuser" not in form.fields


def test_manager_create_form_offers_only_grantable_roles_and_own_brands(client_for, manager, brands):
    form = client_for(manager).get(reverse("wagtailusers_users:add")).context["form"]
    assert [value for value, _label in form.fields["role"].choices] == [Role.EMPLOYEE, Role.MARKETING]
    assert list(form.fields["brands"].queryset) == [brands["intralog"]]


def test_manager_creates_employee_of_own_brand(client_for, manager, brands):
    response = client_for(manager).post(
        reverse("wagtailusers_users:add"),
        user_form(brands, phone="+54 9 11 5555 1234", whatsapp="011 15 5555-1234"),
    )
    assert response.status_code == 302
    user = User.objects.get(username="newperson")
    assert user.role == Role.EMPLOYEE
    assert list(user.groups.values_list("name", flat=True)) == ["Employees"]
    assert list(user.brands.all()) == [brands["intralog"]]
    assert str(user.phone) == "+5491155551234"
    assert user.check_password(NEW_PASSWORD)
    assert not user.is_superuser


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER])
def test_manager_cannot_create_admin_or_manager(client_for, manager, brands, role):
    response = client_for(manager).post(reverse("wagtailusers_users:add"), user_form(brands, role=role))
    assert response.status_code == 200
    assert "role" in response.context["form"].errors
    assert not User.objects.filter(username="newperson").exists()


def test_manager_cannot_create_user_of_another_brand(client_for, manager, brands):
    response = client_for(manager).post(
        reverse("wagtailusers_users:add"), user_form(brands, brands=[brands["intrapal"].pk])
    )
    assert response.status_code == 200
    assert "brands" in response.context["form"].errors
    assert not User.objects.filter(username="newperson").exists()


def test_forged_superuser_and_groups_fields_are_ignored(client_for, manager, brands):
    from django.contrib.auth.models import Group

    admins = Group.objects.get(name="Admins")
    response = client_for(manager).post(
        reverse("wagtailusers_users:add"),
        user_form(brands, is_superuser="on", groups=[admins.pk]),
    )
    assert response.status_code == 302
    user = User.objects.get(username="newperson")
    assert not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Employees"]


def test_admin_creates_manager(client_for, admin_user, brands):
    response = client_for(admin_user).post(
        reverse("wagtailusers_users:add"),
        user_form(brands, role=Role.MANAGER, brands=[brands["intrapal"].pk]),
    )
    assert response.status_code == 302
    user = User.objects.get(username="newperson")
    assert user.role == Role.MANAGER
    assert list(user.groups.values_list("name", flat=True)) == ["Managers"]


def test_create_rejects_weak_password(client_for, admin_user, brands):
    response = client_for(admin_user).post(
        reverse("wagtailusers_users:add"), user_form(brands, password1="short", password2="short")
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not User.objects.filter(username="newperson").exists()


# Editing


def test_manager_edits_and_deactivates_employee(client_for, manager, employee):
    response = client_for(manager).post(
        reverse("wagtailusers_users:edit", args=[employee.pk]),
        edit_form(employee, first_name="Elena", is_active=""),
    )
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.first_name == "Elena"
    assert not employee.is_active


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER])
def test_manager_cannot_raise_a_role(client_for, manager, employee, role):
    response = client_for(manager).post(
        reverse("wagtailusers_users:edit", args=[employee.pk]), edit_form(employee, role=role)
    )
    assert response.status_code == 200
    employee.refresh_from_db()
    assert employee.role == Role.EMPLOYEE
    assert not employee.is_superuser
    assert list(employee.groups.values_list("name", flat=True)) == ["Employees"]


@pytest.mark.parametrize("target_fixture", ["admin_user", "other_manager", "intrapal_employee"])
def test_manager_cannot_open_or_edit_admin_other_manager_or_other_brand(
    request, client_for, manager, target_fixture
):
    target = request.getfixturevalue(target_fixture)
    client = client_for(manager)
    url = reverse("wagtailusers_users:edit", args=[target.pk])
    assert_denied(client.get(url))
    assert_denied(client.post(url, edit_form(target, first_name="Hacked", is_active="")))
    assert_denied(client.get(reverse("wagtailusers_users:history", args=[target.pk])))
    assert_denied(client.get(reverse("wagtailusers_users:usage", args=[target.pk])))
    target.refresh_from_db()
    assert target.first_name != "Hacked"
    assert target.is_active


def test_manager_keeps_brands_outside_their_reach(client_for, manager, marketer, brands):
    response = client_for(manager).post(
        reverse("wagtailusers_users:edit", args=[marketer.pk]),
        edit_form(marketer, brands=[brands["intralog"].pk], first_name="Mariana"),
    )
    assert response.status_code == 302
    marketer.refresh_from_db()
    assert marketer.first_name == "Mariana"
    assert set(marketer.brands.all()) == {brands["intralog"], brands["intrapal"]}


def test_manager_cannot_add_a_brand_outside_their_reach(client_for, manager, employee, brands):
    response = client_for(manager).post(
        reverse("wagtailusers_users:edit", args=[employee.pk]),
        edit_form(employee, brands=[brands["intralog"].pk, brands["intrapal"].pk]),
    )
    assert response.status_code == 200
    assert list(employee.brands.all()) == [brands["intralog"]]


def test_manager_cannot_delete_users(client_for, manager, employee):
    client = client_for(manager)
    url = reverse("wagtailusers_users:delete", args=[employee.pk])
    assert_denied(client.get(url))
    assert_denied(client.post(url))
    assert User.objects.filter(pk=employee.pk).exists()


def test_admin_deletes_user_but_not_themselves(client_for, admin_user, employee):
    client = client_for(admin_user)
    assert client.post(reverse("wagtailusers_users:delete", args=[employee.pk])).status_code == 302
    assert not User.objects.filter(pk=employee.pk).exists()
    assert_denied(client.post(reverse("wagtailusers_users:delete", args=[admin_user.pk])))
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_admin_cannot_change_own_role_in_user_admin(client_for, admin_user):
    form = (
        client_for(admin_user).get(reverse("wagtailusers_users:edit", args=[admin_user.pk])).context["form"]
    )
    assert "role" not in form.fields
    assert "is_active" not in form.fields


# Bulk actions


def test_bulk_assign_role_cannot_escalate(client_for, manager, employee, other_manager, admin_user):
    from django.contrib.auth.models import Group

    client = client_for(manager)
    response = client.post(bulk_url("assign_role", employee), {"role": Role.ADMIN})
    assert response.status_code == 200  # the form rejects a role the manager may not grant
    response = client.post(bulk_url("assign_role", employee), {"role": Group.objects.get(name="Admins").pk})
    employee.refresh_from_db()
    assert employee.role == Role.EMPLOYEE
    assert not employee.is_superuser

    response = client.post(bulk_url("assign_role", other_manager, admin_user), {"role": Role.EMPLOYEE})
    other_manager.refresh_from_db()
    admin_user.refresh_from_db()
    assert other_manager.role == Role.MANAGER
    assert admin_user.role == Role.ADMIN


def test_bulk_assign_role_within_reach(client_for, manager, employee):
    response = client_for(manager).post(bulk_url("assign_role", employee), {"role": Role.MARKETING})
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.role == Role.MARKETING
    assert list(employee.groups.values_list("name", flat=True)) == ["Marketing"]


def test_bulk_deactivate_skips_users_out_of_reach(
    client_for, manager, employee, other_manager, admin_user, intrapal_employee
):
    client = client_for(manager)
    response = client.post(
        bulk_url("set_active_state", employee, other_manager, admin_user, intrapal_employee, manager),
        {"mark_as_active": "False"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=employee.pk).is_active is False
    for untouched in (other_manager, admin_user, intrapal_employee, manager):
        assert User.objects.get(pk=untouched.pk).is_active is True


def test_bulk_select_all_only_reaches_manageable(
    client_for, manager, employee, intrapal_employee, admin_user
):
    url = reverse("wagtail_bulk_action", args=("crm", "user", "set_active_state")) + "?id=all"
    client_for(manager).post(url, {"mark_as_active": "False"})
    assert User.objects.get(pk=employee.pk).is_active is False
    assert User.objects.get(pk=intrapal_employee.pk).is_active is True
    assert User.objects.get(pk=admin_user.pk).is_active is True


def test_bulk_delete_only_by_admins(client_for, manager, admin_user, employee, other_employee):
    client_for(manager).post(bulk_url("delete", employee))
    assert User.objects.filter(pk=employee.pk).exists()
    client_for(admin_user).post(bulk_url("delete", employee, admin_user))
    assert not User.objects.filter(pk=employee.pk).exists()
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_bulk_actions_forbidden_for_employees(client_for, employee, other_employee):
    client = client_for(employee)
    client.post(bulk_url("set_active_state", other_employee), {"mark_as_active": "False"})
    client.post(bulk_url("assign_role", other_employee), {"role": Role.MARKETING})
    other_employee.refresh_from_db()
    assert other_employee.is_active
    assert other_employee.role == Role.EMPLOYEE


# Account area


def account_form_data(client, **changes):
    """What a browser posts from the account page: every panel's current values, with ``changes``."""
    response = client.get(reverse("wagtailadmin_account"))
    assert response.status_code == 200
    data = {}
    for panels in response.context["panels_by_tab"].values():
        for panel in panels:
            for bound in panel.get_form():
                value = bound.value()
                if isinstance(bound.field, forms.BooleanField):
                    if value:
                        data[bound.html_name] = "on"
                elif isinstance(value, (list, tuple)):
                    data[bound.html_name] = [str(item) for item in value]
                elif value is not None and not isinstance(bound.field.widget, forms.PasswordInput):
                    data[bound.html_name] = str(value)
    data.update(changes)
    return data


def test_everyone_edits_own_phone_and_whatsapp_in_account(client_for, employee):
    client = client_for(employee)
    data = account_form_data(
        client,
        **{
            "name_email-first_name": "Elena",
            "name_email-last_name": "Vendedora",
            "contact_numbers-phone": "+54 11 4444 5555",
            "contact_numbers-whatsapp": "+54 9 11 5555 1234",
            "locale-preferred_language": "es-ar",
        },
    )
    response = client.post(reverse("wagtailadmin_account"), data)
    assert response.status_code == 302
    employee.refresh_from_db()
    assert str(employee.whatsapp) == "+5491155551234"
    assert str(employee.phone) == "+541144445555"
    assert employee.first_name == "Elena"
    assert employee.wagtail_userprofile.preferred_language == "es-ar"


def test_unchanged_contact_numbers_leave_another_panels_change_alone(employee):
    from crm.forms.people import ContactNumbersForm

    employee.whatsapp = "+5491155551234"
    employee.save()
    form = ContactNumbersForm({"phone": "", "whatsapp": "+54 9 11 5555 1234"}, instance=employee)
    employee.whatsapp = "+5491166667777"  # set on the shared user by a panel validated earlier
    assert form.is_valid()
    form.save()
    employee.refresh_from_db()
    assert str(employee.whatsapp) == "+5491166667777"


def test_account_rejects_invalid_whatsapp_and_keeps_the_old_one(client_for, employee):
    employee.whatsapp = "+5491155551234"
    employee.save()
    response = client_for(employee).post(
        reverse("wagtailadmin_account"),
        {
            "name_email-first_name": "Elena",
            "name_email-last_name": "Vendedora",
            "name_email-email": "elena@example.com",
            "contact_numbers-phone": "",
            "contact_numbers-whatsapp": "not a number",
        },
    )
    assert response.status_code == 200
    employee.refresh_from_db()
    assert str(employee.whatsapp) == "+5491155551234"


def test_account_offers_english_and_spanish_argentina(client_for, employee):
    response = client_for(employee).get(reverse("wagtailadmin_account"))
    panels = [panel for tab in response.context["panels_by_tab"].values() for panel in tab]
    locale_form = next(panel for panel in panels if panel.name == "locale").get_form()
    values = {value for value, _label in locale_form.fields["preferred_language"].choices}
    assert {"en", "es-ar"} <= values


# Permission policies


def test_crm_user_policy_wins_over_wagtails():
    from wagtail.permissions import policy_registry

    from crm.people import UserPermissionPolicy

    assert isinstance(policy_registry.get_by_type(User), UserPermissionPolicy)


def test_role_groups_cannot_be_edited_by_hand(client_for, admin_user):
    from django.contrib.auth.models import Group, Permission

    employees = Group.objects.get(name="Employees")
    client = client_for(admin_user)
    assert client.get(reverse("wagtailusers_groups:index")).status_code == 200
    response = client.post(
        reverse("wagtailusers_groups:edit", args=[employees.pk]),
        {"name": "Employees", "permissions": [Permission.objects.get(codename="delete_user").pk]},
    )
    assert_denied(response)
    assert_denied(client.post(reverse("wagtailusers_groups:delete", args=[employees.pk])))
    assert_denied(client.post(reverse("wagtailusers_groups:add"), {"name": "Shadow admins"}))
    assert not employees.permissions.filter(codename="delete_user").exists()
    assert not Group.objects.filter(name="Shadow admins").exists()
