"""Every two-factor URL as every role (fully signed in, and signed out): GETs and forged POSTs.

Only admins reset a person's second factor; everyone reaches only their own settings; nothing answers a
500 and nothing changes for a role that may not change it.
"""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from wagtail.models import ModelLogEntry

from crm import two_factor
from tests.two_factor_support import authenticator_for, sign_in_fully

ROLES = ["admin", "manager", "other_manager", "employee", "other_employee", "marketer"]
RESETTERS = {"admin"}


@pytest.fixture
def people(admin_user, manager, other_manager, employee, other_employee, marketer):
    return {
        "admin": admin_user,
        "manager": manager,
        "other_manager": other_manager,
        "employee": employee,
        "other_employee": other_employee,
        "marketer": marketer,
    }


@pytest.fixture
def target(people):
    """The person whose second factor everyone tries to reset: an INTRALOG employee with one."""
    person = people["other_employee"]
    authenticator_for(person)
    two_factor.new_recovery_codes(person)
    return person


def urls(target):
    return {
        "verify": reverse("crm_two_factor:verify"),
        "enrol": reverse("crm_two_factor:enrol"),
        "settings": reverse("crm_two_factor:account"),
        "reset": reverse("crm_two_factor:reset", args=[target.pk]),
    }


def is_denied(response):
    return response.status_code in (403, 404) or (
        response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_two_factor_url_for_every_role(role, people, target, client):
    actor = people[role]
    sign_in_fully(client, actor)
    client.raise_request_exception = False
    pages = urls(target)

    assert client.get(pages["verify"])["Location"] == reverse("wagtailadmin_home")
    enrol = client.get(pages["enrol"])
    if two_factor.has_second_factor(actor):
        assert enrol["Location"] == pages["settings"]
    else:
        assert enrol.status_code == 200 and b"<svg" in enrol.content
    settings_page = client.get(pages["settings"])
    assert settings_page.status_code == 200
    assert target.get_username() not in settings_page.content.decode() or actor == target

    reset_get = client.get(pages["reset"])
    reset_post = client.post(pages["reset"])
    if role in RESETTERS:
        assert reset_get.status_code == 200
        assert reset_post["Location"] == reverse("wagtailusers_users:edit", args=[target.pk])
        assert not TOTPDevice.objects.filter(user=target).exists()
        assert ModelLogEntry.objects.filter(action="crm.two_factor.reset", user=actor).count() == 1
    else:
        assert is_denied(reset_get) and is_denied(reset_post)
        assert TOTPDevice.objects.filter(user=target).exists()
        assert not ModelLogEntry.objects.filter(action="crm.two_factor.reset").exists()


@pytest.mark.parametrize("role", ROLES)
def test_settings_actions_touch_only_the_actor(role, people, target, client):
    actor = people[role]
    sign_in_fully(client, actor)
    target_key = TOTPDevice.objects.get(user=target).key
    target_codes = two_factor.recovery_codes_left(target)
    for action in ("recovery_codes", "forget", "disable", "unknown", ""):
        response = client.post(reverse("crm_two_factor:account"), {"action": action, "code": "123456"})
        assert response.status_code in (200, 302)
    assert TOTPDevice.objects.get(user=target).key == target_key
    assert two_factor.recovery_codes_left(target) == target_codes


@pytest.mark.parametrize("name", ["verify", "enrol", "settings", "reset"])
def test_signed_out_visitors_are_sent_to_sign_in(name, target, client):
    url = urls(target)[name]
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("wagtailadmin_login"))
    assert TOTPDevice.objects.filter(user=target).exists()


def test_reset_url_of_a_person_who_does_not_exist_is_404(client, admin_user):
    sign_in_fully(client, admin_user)
    assert client.get(reverse("crm_two_factor:reset", args=[2**62])).status_code == 404


def test_admin_url_matrix_visits_the_argless_two_factor_urls():
    from tests.admin_urls import argless_admin_urls

    paths = {path for path, _name in argless_admin_urls()}
    assert {
        reverse("crm_two_factor:verify"),
        reverse("crm_two_factor:enrol"),
        reverse("crm_two_factor:account"),
    } <= paths
