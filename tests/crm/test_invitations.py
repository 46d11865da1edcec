"""Invitations: created in the admin by admins and managers, accepted once through a signed link."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rq import Queue, SimpleWorker

from core import jobs
from crm import people
from crm.models import Invitation, Role, User

PASSWORD = "amber-violin-harbour-38"


def invite_in_admin(client, brand_map, **overrides):
    data = {"email": "new.person@example.com", "role": Role.EMPLOYEE, "brands": [brand_map["intralog"].pk]}
    data.update(overrides)
    return client.post(reverse("crm_invitations:add"), data)


def assert_denied(response):
    """Wagtail turns PermissionDenied into a redirect to the dashboard (or login) with an error message."""
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"] == reverse("wagtailadmin_home") or response["Location"].startswith(
            reverse("wagtailadmin_login")
        )


def link_path(message):
    for line in message.body.splitlines():
        if "/invitation/" in line:
            return line.strip().removeprefix("http://testserver")
    raise AssertionError("no invitation link in the email")


def accept(client, path, **overrides):
    data = {"first_name": "Nueva", "last_name": "Persona", "password1": PASSWORD, "password2": PASSWORD}
    data.update(overrides)
    return client.post(path, data)


@pytest.fixture
def sent_emails(db, django_capture_on_commit_callbacks):
    """Run what ``invite`` queued, as in production: in-process when embedded, by an rq worker with Redis."""
    queue = Queue("high", connection=jobs.connection("high"))
    queue.connection.delete(queue.key)

    @contextmanager
    def sending():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        assert queue.failed_job_registry.count == 0

    yield sending
    queue.connection.delete(queue.key)


@pytest.fixture
def invitation(admin_user, brands, sent_emails):
    with sent_emails():
        created = people.invite(admin_user, "new.person@example.com", Role.EMPLOYEE, [brands["intralog"]])
    return created


# Creating invitations in the admin


def test_manager_invites_employee_and_email_is_sent(client_for, manager, brands, sent_emails):
    with sent_emails():
        response = invite_in_admin(client_for(manager), brands)
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.role == Role.EMPLOYEE
    assert invitation.invited_by == manager
    assert list(invitation.brands.all()) == [brands["intralog"]]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    assert "/invitation/" in mail.outbox[0].body


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER])
def test_manager_cannot_invite_admin_or_manager(client_for, manager, brands, role):
    response = invite_in_admin(client_for(manager), brands, role=role)
    assert response.status_code == 200
    assert not Invitation.objects.exists()
    assert not mail.outbox


def test_manager_cannot_invite_for_another_brand(client_for, manager, brands):
    response = invite_in_admin(client_for(manager), brands, brands=[brands["intrapal"].pk])
    assert response.status_code == 200
    assert not Invitation.objects.exists()


def test_manager_must_give_a_brand(client_for, manager, brands):
    response = invite_in_admin(client_for(manager), brands, brands=[])
    assert response.status_code == 200
    assert not Invitation.objects.exists()


def test_admin_invites_manager(client_for, admin_user, brands, sent_emails):
    with sent_emails():
        response = invite_in_admin(client_for(admin_user), brands, role=Role.MANAGER)
    assert response.status_code == 302
    assert Invitation.objects.get().role == Role.MANAGER


def test_cannot_invite_existing_user(client_for, admin_user, employee, brands):
    response = invite_in_admin(client_for(admin_user), brands, email=employee.email.upper())
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role_fixture", ["employee", "marketer"])
def test_employees_and_marketing_cannot_invite(request, client_for, brands, role_fixture):
    client = client_for(request.getfixturevalue(role_fixture))
    assert_denied(client.get(reverse("crm_invitations:index")))
    assert_denied(client.get(reverse("crm_invitations:add")))
    assert_denied(invite_in_admin(client, brands))
    assert not Invitation.objects.exists()


def test_listing_shows_status_and_only_invitations_in_reach(
    client_for, admin_user, manager, other_manager, brands
):
    now = timezone.now()
    mine = people.invite(manager, "mine@example.com", Role.EMPLOYEE, [brands["intralog"]])
    theirs = people.invite(other_manager, "theirs@example.com", Role.EMPLOYEE, [brands["intrapal"]])
    expired = people.invite(admin_user, "late@example.com", Role.MARKETING, [brands["intralog"]])
    Invitation.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(minutes=1))
    admin_invite = people.invite(admin_user, "boss@example.com", Role.MANAGER, [brands["intralog"]])

    response = client_for(manager).get(reverse("crm_invitations:index"))
    assert response.status_code == 200
    listed = {invitation.pk for invitation in response.context["object_list"]}
    assert listed == {mine.pk, expired.pk}
    content = response.content.decode()
    assert "pending" in content and "expired" in content
    assert theirs.pk not in listed and admin_invite.pk not in listed

    all_listed = client_for(admin_user).get(reverse("crm_invitations:index")).context["object_list"]
    assert {invitation.pk for invitation in all_listed} == {mine.pk, theirs.pk, expired.pk, admin_invite.pk}


def test_revoke_is_delete_within_reach(client_for, manager, other_manager, brands):
    mine = people.invite(manager, "mine@example.com", Role.EMPLOYEE, [brands["intralog"]])
    theirs = people.invite(other_manager, "theirs@example.com", Role.EMPLOYEE, [brands["intrapal"]])
    client = client_for(manager)
    assert_denied(client.post(reverse("crm_invitations:delete", args=[theirs.pk])))
    assert Invitation.objects.filter(pk=theirs.pk).exists()
    assert client.post(reverse("crm_invitations:delete", args=[mine.pk])).status_code == 302
    assert not Invitation.objects.filter(pk=mine.pk).exists()


def test_invitations_cannot_be_edited(client_for, admin_user, brands):
    invitation = people.invite(admin_user, "x@example.com", Role.EMPLOYEE, [brands["intralog"]])
    client = client_for(admin_user)
    url = reverse("crm_invitations:edit", args=[invitation.pk])
    assert_denied(client.get(url))
    assert_denied(client.post(url, {"email": "x@example.com", "role": Role.ADMIN}))
    invitation.refresh_from_db()
    assert invitation.role == Role.EMPLOYEE


# Accepting


def test_accept_creates_user_and_signs_in(client, invitation, brands):
    path = link_path(mail.outbox[0])
    assert client.get(path).status_code == 200
    response = accept(client, path)
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    user = User.objects.get(email="new.person@example.com")
    assert user.role == Role.EMPLOYEE
    assert list(user.groups.values_list("name", flat=True)) == ["Employees"]
    assert list(user.brands.all()) == [brands["intralog"]]
    assert user.check_password(PASSWORD)
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
    invitation.refresh_from_db()
    assert invitation.is_used and invitation.accepted_user == user


def test_used_link_is_refused(client, invitation):
    path = link_path(mail.outbox[0])
    accept(client, path)
    client.logout()
    response = client.get(path)
    assert response.status_code == 410
    assert b"already been used" in response.content
    response = accept(client, path, first_name="Second")
    assert response.status_code == 410
    assert User.objects.filter(email="new.person@example.com").count() == 1


def test_expired_link_is_refused(client, invitation):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    path = link_path(mail.outbox[0])
    for response in (client.get(path), accept(client, path)):
        assert response.status_code == 410
        assert b"expired" in response.content
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_link_valid_for_72_hours(invitation):
    assert invitation.expires_at - invitation.created_at == pytest.approx(
        timedelta(hours=72), abs=timedelta(seconds=5)
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "x" + token,
        lambda token: "not-a-token",
    ],
)
def test_tampered_link_is_refused(client, invitation, tamper):
    token = invitation.make_token()
    path = reverse("crm:accept_invitation", args=[tamper(token)])
    for response in (client.get(path), accept(client, path)):
        assert response.status_code == 410
        assert b"not valid" in response.content
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_revoked_invitation_link_is_refused(client, invitation):
    path = link_path(mail.outbox[0])
    invitation.delete()
    assert client.get(path).status_code == 410


def test_new_nonce_invalidates_old_link(client, invitation):
    path = link_path(mail.outbox[0])
    Invitation.objects.filter(pk=invitation.pk).update(nonce="changed")
    assert client.get(path).status_code == 410


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw", b"too short"),
        ("password1234", b"too common"),
        ("new.person@example.com", b"too similar"),
        ("1234567890123", b"entirely numeric"),
    ],
)
def test_password_rules_on_accept(client, invitation, password, message):
    path = link_path(mail.outbox[0])
    response = accept(client, path, password1=password, password2=password)
    assert response.status_code == 200
    assert message in response.content
    assert not User.objects.filter(email="new.person@example.com").exists()
    invitation.refresh_from_db()
    assert not invitation.is_used


def test_mismatched_passwords_on_accept(client, invitation):
    path = link_path(mail.outbox[0])
    response = accept(client, path, password2=PASSWORD + "x")
    assert response.status_code == 200
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_no_email_for_revoked_invitation(admin_user, brands):
    invitation = people.invite(admin_user, "gone@example.com", Role.EMPLOYEE, [brands["intralog"]])
    mail.outbox.clear()
    invitation_id = invitation.pk
    invitation.delete()
    people.send_invitation_email(invitation_id)
    assert not mail.outbox


def test_manager_invitation_form_offers_only_grantable_roles_and_own_brands(client_for, manager, brands):
    form = client_for(manager).get(reverse("crm_invitations:add")).context["form"]
    assert [value for value, _label in form.fields["role"].choices] == [Role.EMPLOYEE, Role.MARKETING]
    assert list(form.fields["brands"].queryset) == [brands["intralog"]]


def test_accept_refused_when_account_appeared_meanwhile(client, invitation, make_user):
    make_user("new.person@example.com", Role.EMPLOYEE)
    path = link_path(mail.outbox[0])
    response = accept(client, path)
    assert response.status_code == 410
    assert b"already exists" in response.content
    assert User.objects.filter(username="new.person@example.com").count() == 1
    invitation.refresh_from_db()
    assert not invitation.is_used
