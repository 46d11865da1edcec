"""Sign-in through Wagtail's login page: axes throttling, the lock admin, password reset by email."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.two_factor_support import sign_in_fully

NEW_PASSWORD = "silver-meadow-compass-52"


def sign_in(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("wagtailadmin_login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail_times(client, username, times, ip="10.0.0.1"):
    return [sign_in(client, username, "wrong-password-123", ip=ip) for _ in range(times)]


def test_login_page_is_the_admin_entry(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))


def test_correct_password_signs_in(client, employee):
    response = sign_in(client, employee.username, PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("wagtailadmin_home")).status_code == 200


def test_failed_attempts_are_recorded_with_ip_so_axes_sees_the_request(client, employee):
    responses = fail_times(client, employee.username, 2)
    assert all(response.status_code == 200 for response in responses)
    attempt = AccessAttempt.objects.get(username=employee.username)
    assert attempt.ip_address == "10.0.0.1"
    assert attempt.failures_since_start == 2


def test_five_failures_lock_the_username_from_that_ip(client, employee):
    responses = fail_times(client, employee.username, 5)
    assert [response.status_code for response in responses[:4]] == [200] * 4
    assert responses[4].status_code == 429
    locked = sign_in(client, employee.username, PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    assert b"15 minutes" in locked.content
    assert client.get(reverse("wagtailadmin_home")).status_code == 302


def test_lock_is_per_username_and_ip(client, employee, other_employee):
    fail_times(client, employee.username, 5)
    assert sign_in(client, other_employee.username, PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, employee.username, PASSWORD, ip="10.0.0.2").status_code == 302


def test_lock_expires_after_fifteen_minutes(client, employee):
    fail_times(client, employee.username, 5)
    attempt = AccessAttempt.objects.get(username=employee.username)
    AccessAttempt.objects.filter(pk=attempt.pk).update(
        attempt_time=attempt.attempt_time - timedelta(minutes=14)
    )
    assert sign_in(client, employee.username, PASSWORD).status_code == 429
    AccessAttempt.objects.filter(pk=attempt.pk).update(
        attempt_time=attempt.attempt_time - timedelta(minutes=16)
    )
    assert sign_in(client, employee.username, PASSWORD).status_code == 302


# Lock admin


def test_admin_sees_and_clears_locks(client, client_for, admin_user, employee):
    fail_times(client, employee.username, 5)
    attempt = AccessAttempt.objects.get(username=employee.username)
    admin_client = client_for(admin_user)
    listing = admin_client.get(reverse("crm_sign_in_locks:index"))
    assert listing.status_code == 200
    assert employee.username in listing.content.decode()
    assert admin_client.post(reverse("crm_sign_in_locks:delete", args=[attempt.pk])).status_code == 302
    assert not AccessAttempt.objects.exists()
    admin_client.logout()
    assert sign_in(admin_client, employee.username, PASSWORD).status_code == 302


def test_admins_cannot_add_or_edit_locks(client, client_for, admin_user, employee):
    fail_times(client, employee.username, 1)
    attempt = AccessAttempt.objects.get()
    admin_client = client_for(admin_user)
    for url in (reverse("crm_sign_in_locks:add"), reverse("crm_sign_in_locks:edit", args=[attempt.pk])):
        response = admin_client.get(url)
        assert response.status_code in (302, 403)
        assert response.status_code == 403 or response["Location"] == reverse("wagtailadmin_home")


@pytest.mark.parametrize("role_fixture", ["manager", "employee", "marketer"])
def test_only_admins_see_locks(request, client, employee, role_fixture):
    fail_times(client, employee.username, 1)
    attempt = AccessAttempt.objects.get()
    viewer = request.getfixturevalue(role_fixture)
    sign_in_fully(client, viewer)
    assert client.get(reverse("crm_sign_in_locks:index")).status_code in (302, 403)
    assert client.post(reverse("crm_sign_in_locks:delete", args=[attempt.pk])).status_code in (302, 403)
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


# Password reset


def reset_link(message):
    match = re.search(r"https?://[^/\s]+(/admin/password_reset/confirm/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def request_reset(client, email):
    response = client.post(reverse("wagtailadmin_password_reset"), {"email": email})
    assert response.status_code == 302
    return response


def test_password_reset_by_email(client, employee):
    request_reset(client, employee.email)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [employee.email]
    link = reset_link(mail.outbox[0])
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    response = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.check_password(NEW_PASSWORD)
    assert sign_in(client, employee.username, NEW_PASSWORD).status_code == 302


def test_password_reset_link_works_once(client, employee):
    request_reset(client, employee.email)
    link = reset_link(mail.outbox[0])
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    again = client.get(link, follow=True)
    assert b"new_password1" not in again.content


@pytest.mark.parametrize("password", ["short-pw", "password1234", "employee1-example"])
def test_password_reset_enforces_rules(client, employee, password):
    request_reset(client, employee.email)
    set_password_url = client.get(reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0]
    response = client.post(set_password_url, {"new_password1": password, "new_password2": password})
    assert response.status_code == 200
    assert response.context["form"].errors
    employee.refresh_from_db()
    assert employee.check_password(PASSWORD)


def test_password_reset_for_unknown_email_sends_nothing(client, db):
    request_reset(client, "nobody@example.com")
    assert not mail.outbox


def test_admin_inspects_a_lock_without_secrets(client, client_for, admin_user, employee):
    fail_times(client, employee.username, 5)
    attempt = AccessAttempt.objects.get()
    response = client_for(admin_user).get(reverse("crm_sign_in_locks:inspect", args=[attempt.pk]))
    assert response.status_code == 200
    assert employee.username in response.content.decode()
    assert "wrong-password-123" not in response.content.decode()
