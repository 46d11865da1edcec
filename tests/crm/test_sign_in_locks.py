"""Admins clear a sign-in lock from its page or the listing, through ``crm.people.clear_sign_in_lock``, logged."""

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from wagtail.models import ModelLogEntry

from crm import people
from tests.conftest import PASSWORD
from tests.crm.test_login import fail_times, sign_in


def lock(client, user, times=5, ip="10.0.0.1"):
    fail_times(client, user.username, times, ip=ip)
    return AccessAttempt.objects.get(username=user.username, ip_address=ip)


def test_lock_page_and_listing_offer_clear_lock(client, client_for, admin_user, employee):
    attempt = lock(client, employee)
    clear_url = reverse("crm_sign_in_locks:delete", args=[attempt.pk])
    inspect_url = reverse("crm_sign_in_locks:inspect", args=[attempt.pk])
    admin_client = client_for(admin_user)

    listing = admin_client.get(reverse("crm_sign_in_locks:index")).content.decode()
    assert f'href="{inspect_url}"' in listing
    assert f'href="{clear_url}"' in listing and "Clear lock" in listing

    page = admin_client.get(inspect_url).content.decode()
    assert f'href="{clear_url}"' in page and "Clear lock" in page
    assert f"{employee.username} from 10.0.0.1" in page

    confirm = admin_client.get(clear_url).content.decode()
    assert "Yes, clear the lock" in confirm


def test_clearing_a_lock_lets_the_user_sign_in_and_is_logged(client, client_for, admin_user, employee):
    attempt = lock(client, employee)
    response = client_for(admin_user).post(
        reverse("crm_sign_in_locks:delete", args=[attempt.pk]), follow=True
    )
    assert response.status_code == 200
    assert f"Sign-in lock cleared: {employee.username} from 10.0.0.1." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    entry = ModelLogEntry.objects.get(action="crm.sign_in_lock.cleared")
    assert entry.user_id == admin_user.pk
    assert entry.object_id == str(attempt.pk)
    assert entry.data == {"username": employee.username, "ip_address": "10.0.0.1", "failures": 5}
    assert entry.label == f"{employee.username} from 10.0.0.1"
    client.logout()
    assert sign_in(client, employee.username, PASSWORD).status_code == 302


def test_clearing_removes_every_record_of_that_username_and_address(admin_user, employee, other_employee):
    for user_agent in ("Firefox", "Chromium"):
        AccessAttempt.objects.create(
            username=employee.username, ip_address="10.0.0.1", user_agent=user_agent, failures_since_start=3
        )
    other_address = AccessAttempt.objects.create(
        username=employee.username, ip_address="10.0.0.2", user_agent="Firefox", failures_since_start=5
    )
    other_user = AccessAttempt.objects.create(
        username=other_employee.username, ip_address="10.0.0.1", user_agent="Firefox", failures_since_start=5
    )
    first = AccessAttempt.objects.filter(ip_address="10.0.0.1", username=employee.username).first()
    assert people.clear_sign_in_lock(admin_user, first) == 2
    assert set(AccessAttempt.objects.values_list("pk", flat=True)) == {other_address.pk, other_user.pk}


@pytest.mark.parametrize("role_fixture", ["manager", "employee", "marketer"])
def test_only_admins_may_clear_locks(request, client, other_employee, role_fixture):
    attempt = lock(client, other_employee)
    actor = request.getfixturevalue(role_fixture)
    with pytest.raises(PermissionDenied):
        people.clear_sign_in_lock(actor, attempt)
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert not ModelLogEntry.objects.filter(action="crm.sign_in_lock.cleared").exists()
