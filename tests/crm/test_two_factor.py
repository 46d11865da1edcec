"""Two-factor sign-in: nothing answers an admin or manager before the code, codes are single-use, wrong
codes lock the account, remembered browsers, recovery codes, admin resets, invitations and password reset."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from wagtail.models import ModelLogEntry

from crm import people, two_factor
from crm.intake import LeadData, create_lead
from crm.middleware import OPEN_URL_NAMES
from crm.models import Role, Source
from tests.admin_urls import argless_admin_urls
from tests.conftest import PASSWORD
from tests.crm.test_login import NEW_PASSWORD, request_reset, reset_link, sign_in
from tests.two_factor_support import authenticator_for, current_code, sign_in_fully

VERIFY = reverse("crm_two_factor:verify")
ENROL = reverse("crm_two_factor:enrol")
SECRET_LEAD = "Ximena Secretlead"


@pytest.fixture
def lead(brands, manager):
    return create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name=SECRET_LEAD,
            email="ximena@lead.example",
            source=Source.objects.get(key="phone"),
        ),
        actor=manager,
    )


def protected_urls():
    return [
        reverse("wagtailadmin_home"),
        reverse("crm_leads:list"),
        reverse("crm_leads:list") + "?export=csv",
        reverse("crm_leads:list") + "?export=xlsx",
        reverse("dashboards:overview"),
        reverse("crm_site_history") + "?export=csv",
        reverse("wagtailusers_users:index"),
        reverse("crm_two_factor:account"),
        reverse("wagtailadmin_account"),
        "/",
    ]


def assert_sent_to(response, step_url):
    assert response.status_code == 302, response
    assert response["Location"].startswith(step_url + "?next=")
    assert SECRET_LEAD.encode() not in response.content


def verify(client, code, remember=False, next_url="/admin/"):
    data = {"code": code, "next": next_url}
    if remember:
        data["remember"] = "on"
    return client.post(VERIFY, data, REMOTE_ADDR="10.0.0.1")


@pytest.mark.parametrize("role", ["admin_user", "manager"])
def test_enforced_role_reaches_nothing_with_the_password_alone(request, client, lead, role):
    user = request.getfixturevalue(role)
    authenticator_for(user)
    assert sign_in(client, user.username, PASSWORD).status_code == 302
    for url in protected_urls():
        assert_sent_to(client.get(url), VERIFY)
    assert_sent_to(client.post(reverse("crm_leads:list"), {}), VERIFY)


@pytest.mark.parametrize("role", ["admin_user", "manager"])
def test_enforced_role_without_a_device_must_enrol_first(request, client, lead, role):
    user = request.getfixturevalue(role)
    sign_in(client, user.username, PASSWORD)
    for url in protected_urls():
        assert_sent_to(client.get(url), ENROL)
    assert client.get(VERIFY)["Location"].startswith(ENROL)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["employee", "marketer"])
def test_optional_roles_use_the_admin_without_a_second_factor(request, client, role):
    user = request.getfixturevalue(role)
    sign_in(client, user.username, PASSWORD)
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
    assert client.get(reverse("crm_two_factor:account")).status_code == 200


def test_optional_role_with_a_device_must_verify(client, employee):
    device = authenticator_for(employee)
    sign_in(client, employee.username, PASSWORD)
    assert_sent_to(client.get(reverse("crm_leads:list")), VERIFY)
    assert verify(client, current_code(device)).status_code == 302
    assert client.get(reverse("crm_leads:list")).status_code == 200


def test_correct_code_opens_the_admin_and_goes_to_next(client, manager, lead):
    device = authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    page = client.get(VERIFY + "?next=/admin/leads/")
    assert page.status_code == 200
    assert b'autocomplete="one-time-code"' in page.content
    response = verify(client, current_code(device), next_url=reverse("crm_leads:list"))
    assert response["Location"] == reverse("crm_leads:list")
    assert SECRET_LEAD in client.get(reverse("crm_leads:list")).content.decode()
    assert client.get(reverse("crm_leads:list") + "?export=csv").status_code == 200


def test_next_elsewhere_is_ignored(client, manager):
    device = authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    response = verify(client, current_code(device), next_url="https://evil.example/")
    assert response["Location"] == reverse("wagtailadmin_home")


@pytest.mark.parametrize("code", ["000000", "12345", "not a code", "", "9" * 40, "ab\x00cd"])
def test_wrong_code_is_refused(client, manager, code):
    device = authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    if code == "000000" and current_code(device) == code:
        code = "000001"
    response = verify(client, code)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert_sent_to(client.get(reverse("wagtailadmin_home")), VERIFY)


def test_replayed_code_is_refused(client, manager):
    device = authenticator_for(manager)
    code = current_code(device)
    sign_in(client, manager.username, PASSWORD)
    assert verify(client, code).status_code == 302
    client.logout()
    sign_in(client, manager.username, PASSWORD)
    replay = verify(client, code)
    assert replay.status_code == 200
    assert b"already used" in replay.content
    assert_sent_to(client.get(reverse("wagtailadmin_home")), VERIFY)


def test_five_wrong_codes_lock_the_account(client, manager):
    authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    responses = [verify(client, "000000" if n % 2 else "111111") for n in range(5)]
    assert [response.status_code for response in responses[:4]] == [200] * 4
    assert responses[4].status_code == 429
    assert b"Too many failed sign-in attempts" in responses[4].content
    assert SESSION_KEY not in client.session
    assert AccessAttempt.objects.get(username=manager.username).failures_since_start == 5
    assert sign_in(client, manager.username, PASSWORD).status_code == 429


def test_password_success_does_not_clear_failed_codes(client, manager):
    device = authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    for _attempt in range(3):
        verify(client, "000000" if current_code(device) != "000000" else "000001")
    client.logout()
    sign_in(client, manager.username, PASSWORD)
    assert AccessAttempt.objects.get(username=manager.username).failures_since_start == 3
    assert verify(client, current_code(device)).status_code == 302
    assert not AccessAttempt.objects.filter(username=manager.username).exists()


def test_locked_account_cannot_verify_even_with_the_right_code(client, manager):
    device = authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    AccessAttempt.objects.create(
        username=manager.username, ip_address="10.0.0.1", user_agent="", failures_since_start=5
    )
    response = verify(client, current_code(device))
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


# Recovery codes


def enrolled(user):
    device = authenticator_for(user)
    return device, two_factor.new_recovery_codes(user)


def test_recovery_code_signs_in_once(client, manager):
    _device, codes = enrolled(manager)
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT == len(set(codes))
    sign_in(client, manager.username, PASSWORD)
    assert verify(client, codes[0].upper()).status_code == 302
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
    client.logout()
    sign_in(client, manager.username, PASSWORD)
    again = verify(client, codes[0])
    assert again.status_code == 200 and again.context["form"].errors
    assert verify(client, codes[1]).status_code == 302
    assert two_factor.recovery_codes_left(manager) == two_factor.RECOVERY_CODE_COUNT - 2


def test_replaced_recovery_codes_expire(client, manager):
    _device, old_codes = enrolled(manager)
    new_codes = two_factor.new_recovery_codes(manager)
    assert not set(old_codes) & set(new_codes)
    sign_in(client, manager.username, PASSWORD)
    assert verify(client, old_codes[0]).status_code == 200
    assert verify(client, new_codes[0]).status_code == 302


def test_one_persons_recovery_code_does_not_open_anothers_account(client, manager, other_manager):
    enrolled(manager)
    _device, others = enrolled(other_manager)
    sign_in(client, manager.username, PASSWORD)
    assert verify(client, others[0]).status_code == 200
    assert StaticToken.objects.filter(token=others[0]).exists()


# Remembered browsers


def test_remembered_browser_skips_the_code(client, manager):
    device = authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    response = verify(client, current_code(device), remember=True)
    cookie = response.cookies[two_factor.REMEMBER_COOKIE]
    assert cookie["httponly"] and cookie["max-age"] == 30 * 24 * 60 * 60
    sign_out(client)
    sign_in(client, manager.username, PASSWORD)
    assert client.get(reverse("wagtailadmin_home")).status_code == 200


def sign_out(client):
    """Sign out as the browser does (the test client's ``logout`` also drops every cookie)."""
    assert client.post(reverse("wagtailadmin_logout")).status_code == 302
    assert SESSION_KEY not in client.session


def remembered_cookie(client, user):
    device = authenticator_for(user)
    sign_in(client, user.username, PASSWORD)
    verify(client, current_code(device), remember=True)
    sign_out(client)
    return client.cookies[two_factor.REMEMBER_COOKIE].value


def test_tampered_cookie_does_not_skip_the_code(client, manager):
    value = remembered_cookie(client, manager)
    client.cookies[two_factor.REMEMBER_COOKIE] = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    sign_in(client, manager.username, PASSWORD)
    assert_sent_to(client.get(reverse("wagtailadmin_home")), VERIFY)


def test_another_persons_cookie_does_not_skip_the_code(client, manager, other_manager):
    remembered_cookie(client, other_manager)
    authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    assert_sent_to(client.get(reverse("wagtailadmin_home")), VERIFY)


def test_password_change_forgets_remembered_browsers(client, manager):
    remembered_cookie(client, manager)
    manager.set_password(NEW_PASSWORD)
    manager.save()
    sign_in(client, manager.username, NEW_PASSWORD)
    assert_sent_to(client.get(reverse("wagtailadmin_home")), VERIFY)


def test_forget_every_browser_keeps_the_app_working(client, manager):
    value = remembered_cookie(client, manager)
    secret = authenticator_for(manager).key
    sign_in(client, manager.username, PASSWORD)
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
    response = client.post(reverse("crm_two_factor:account"), {"action": "forget"})
    assert response.status_code == 302
    assert client.get(reverse("wagtailadmin_home")).status_code == 200  # this session stays verified
    sign_out(client)
    client.cookies[two_factor.REMEMBER_COOKIE] = value  # a browser that kept the old cookie
    sign_in(client, manager.username, PASSWORD)
    assert_sent_to(client.get(reverse("wagtailadmin_home")), VERIFY)
    device = TOTPDevice.objects.get(user=manager)
    assert device.key == secret
    assert verify(client, current_code(device, steps_ahead=1)).status_code == 302


# Enrolment


def start_enrolment(client, user):
    sign_in(client, user.username, PASSWORD)
    page = client.get(ENROL)
    assert page.status_code == 200
    assert b"<svg" in page.content
    return TOTPDevice(user=user, key=client.session[two_factor.PENDING_KEY_SESSION_KEY])


def test_enrolment_turns_it_on_and_shows_recovery_codes_once(client, manager, lead):
    pending = start_enrolment(client, manager)
    assert not TOTPDevice.objects.exists()
    wrong = client.post(ENROL, {"code": "12"})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    done = client.post(ENROL, {"code": current_code(pending), "next": "/admin/leads/"})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and all(code in done.content.decode() for code in codes)
    assert 'href="/admin/leads/"' in done.content.decode()
    assert SECRET_LEAD in client.get(reverse("crm_leads:list")).content.decode()
    device = TOTPDevice.objects.get(user=manager)
    assert device.key == pending.key and device.confirmed
    assert ModelLogEntry.objects.filter(action="crm.two_factor.enrolled", object_id=str(manager.pk)).exists()
    assert client.get(ENROL)["Location"] == reverse("crm_two_factor:account")
    settings_page = client.get(reverse("crm_two_factor:account")).content.decode()
    assert "10 recovery codes left" in settings_page
    assert not any(code in settings_page for code in codes)


def test_enrolment_code_cannot_be_replayed_at_sign_in(client, manager):
    pending = start_enrolment(client, manager)
    code = current_code(pending)
    client.post(ENROL, {"code": code})
    client.logout()
    sign_in(client, manager.username, PASSWORD)
    assert verify(client, code).status_code == 200


def test_optional_person_turns_it_on_and_off(client, employee):
    pending = start_enrolment(client, employee)
    client.post(ENROL, {"code": current_code(pending)})
    device = TOTPDevice.objects.get(user=employee)
    off = client.post(reverse("crm_two_factor:account"), {"action": "disable", "code": "000000"})
    assert off.status_code == 200 and TOTPDevice.objects.filter(user=employee).exists()
    code = current_code(device, steps_ahead=1)
    off = client.post(reverse("crm_two_factor:account"), {"action": "disable", "code": code})
    assert off.status_code == 302
    assert not TOTPDevice.objects.filter(user=employee).exists()
    assert not StaticDevice.objects.filter(user=employee).exists()
    assert ModelLogEntry.objects.filter(action="crm.two_factor.disabled").exists()


def test_enforced_role_cannot_turn_it_off(client_for, manager):
    device = authenticator_for(manager)
    client = client_for(manager)
    page = client.get(reverse("crm_two_factor:account")).content.decode()
    assert "Turn off two-factor sign-in" not in page
    client.post(reverse("crm_two_factor:account"), {"action": "disable", "code": current_code(device)})
    assert TOTPDevice.objects.filter(user=manager).exists()


def test_new_recovery_codes_from_the_settings_page(client_for, manager):
    _device, old = enrolled(manager)
    response = client_for(manager).post(reverse("crm_two_factor:account"), {"action": "recovery_codes"})
    assert response.status_code == 200
    assert len(response.context["codes"]) == 10
    assert not StaticToken.objects.filter(token__in=old).exists()


# Admin reset


def test_admin_resets_a_second_factor_logged_and_forcing_enrolment(client, client_for, admin_user, manager):
    enrolled(manager)
    reset_url = reverse("crm_two_factor:reset", args=[manager.pk])
    admin = client_for(admin_user)
    edit = admin.get(reverse("wagtailusers_users:edit", args=[manager.pk])).content.decode()
    assert reset_url in edit
    assert "Reset two-factor sign-in" in admin.get(reset_url).content.decode()
    response = admin.post(reset_url)
    assert response["Location"] == reverse("wagtailusers_users:edit", args=[manager.pk])
    assert not TOTPDevice.objects.filter(user=manager).exists()
    assert not StaticDevice.objects.filter(user=manager).exists()
    entry = ModelLogEntry.objects.get(action="crm.two_factor.reset")
    assert (entry.user_id, entry.object_id) == (admin_user.pk, str(manager.pk))
    admin.logout()
    sign_in(client, manager.username, PASSWORD)
    assert_sent_to(client.get(reverse("wagtailadmin_home")), ENROL)


def test_reset_ends_the_verified_sessions(client_for, admin_user, manager):
    person = Client()
    sign_in_fully(person, manager)
    assert person.get(reverse("wagtailadmin_home")).status_code == 200
    client_for(admin_user).post(reverse("crm_two_factor:reset", args=[manager.pk]))
    age_device_check(person)  # a verified session reads its device again once a minute
    assert_sent_to(person.get(reverse("wagtailadmin_home")), ENROL)


def age_device_check(client):
    session = client.session
    session[two_factor.DEVICE_CHECKED_SESSION_KEY] -= two_factor.DEVICE_CHECK_SECONDS
    session.save()


def test_verified_pages_read_the_device_once_a_minute(client_for, manager):
    client = client_for(manager)
    client.get(reverse("wagtailadmin_home"))

    def device_reads():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("wagtailadmin_home")).status_code == 200
        return [query for query in queries.captured_queries if "otp_totp_totpdevice" in query["sql"]]

    assert device_reads() == []
    age_device_check(client)
    assert len(device_reads()) == 1
    assert device_reads() == []


@pytest.mark.parametrize("role", ["manager", "employee", "marketer"])
def test_only_admins_reset(request, client_for, other_employee, role):
    enrolled(other_employee)
    actor = request.getfixturevalue(role)
    client = client_for(actor)
    reset_url = reverse("crm_two_factor:reset", args=[other_employee.pk])
    for response in (client.get(reset_url), client.post(reset_url)):
        assert response.status_code == 403 or response["Location"] == reverse("wagtailadmin_home")
    assert TOTPDevice.objects.filter(user=other_employee).exists()
    assert not ModelLogEntry.objects.filter(action="crm.two_factor.reset").exists()


def test_reset_of_unknown_person_is_404(client_for, admin_user):
    assert client_for(admin_user).get(reverse("crm_two_factor:reset", args=[987654])).status_code == 404


# Invitations and password reset


def test_invited_manager_enrols_right_after_accepting(client, admin_user, brands, lead):
    invitation = people.invite(admin_user, "nueva.gerente@example.com", Role.MANAGER, [brands["intralog"]])
    link = people.invitation_url(invitation).removeprefix("http://testserver")
    response = client.post(
        link,
        {"first_name": "Nueva", "last_name": "Gerente", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response["Location"] == reverse("wagtailadmin_home")
    assert_sent_to(client.get(reverse("wagtailadmin_home")), ENROL)
    assert_sent_to(client.get(reverse("crm_leads:list") + "?export=csv"), ENROL)
    invitation.refresh_from_db()
    assert invitation.accepted_user.role == Role.MANAGER


def test_password_reset_then_sign_in_still_asks_for_the_code(client, manager):
    authenticator_for(manager)
    request_reset(client, manager.email)
    set_password_url = client.get(reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert_sent_to(client.get(reverse("wagtailadmin_home")), reverse("wagtailadmin_login"))
    sign_in(client, manager.username, NEW_PASSWORD)
    assert_sent_to(client.get(reverse("wagtailadmin_home")), VERIFY)


def test_password_reset_pages_open_while_the_code_is_owed(client, manager):
    authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    assert client.get(reverse("wagtailadmin_password_reset")).status_code in (200, 302)
    assert client.get(VERIFY).status_code == 200
    assert client.post(reverse("wagtailadmin_logout")).status_code == 302
    assert SESSION_KEY not in client.session


# Idle sessions


def test_idle_session_is_signed_out(client_for, employee, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    client = client_for(employee)
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
    session = client.session
    session[two_factor.LAST_SEEN_SESSION_KEY] -= int(timedelta(minutes=31).total_seconds())
    session.save()
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))
    assert SESSION_KEY not in client.session


def test_active_session_stays_and_is_written_at_most_once_a_minute(client_for, employee, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    client = client_for(employee)
    session = client.session
    session[two_factor.LAST_SEEN_SESSION_KEY] -= int(timedelta(minutes=29).total_seconds())
    session.save()
    before = client.session[two_factor.LAST_SEEN_SESSION_KEY]
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
    seen = client.session[two_factor.LAST_SEEN_SESSION_KEY]
    assert seen > before
    client.get(reverse("wagtailadmin_home"))
    assert client.session[two_factor.LAST_SEEN_SESSION_KEY] == seen


def test_idle_timeout_zero_never_signs_out(client_for, employee, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 0
    client = client_for(employee)
    session = client.session
    session[two_factor.LAST_SEEN_SESSION_KEY] -= 10 * 24 * 60 * 60
    session.save()
    assert client.get(reverse("wagtailadmin_home")).status_code == 200


def test_required_roles_come_from_settings(client, employee, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["employee"]
    sign_in(client, employee.username, PASSWORD)
    assert_sent_to(client.get(reverse("wagtailadmin_home")), ENROL)


def test_session_device_of_another_person_does_not_verify(client, manager, other_manager):
    other_device = authenticator_for(other_manager)
    authenticator_for(manager)
    client.force_login(manager)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = other_device.persistent_id
    session.save()
    assert_sent_to(client.get(reverse("wagtailadmin_home")), VERIFY)


def test_no_admin_url_answers_a_manager_before_the_code(client, manager, lead):
    """Every admin URL without arguments: a redirect to the code page, except the sign-in steps themselves."""
    authenticator_for(manager)
    sign_in(client, manager.username, PASSWORD)
    client.raise_request_exception = False
    answered = []
    for path, _name in argless_admin_urls():
        if path == reverse("wagtailadmin_logout"):
            continue
        for url in (path, path + "?export=csv"):
            response = client.get(url)
            assert SECRET_LEAD.encode() not in response.content, url
            if resolve(path).view_name in OPEN_URL_NAMES:
                continue
            if not (response.status_code == 302 and response["Location"].startswith(VERIFY + "?next=")):
                answered.append((url, response.status_code))
    assert answered == []


@pytest.mark.parametrize("drift", [-1, 0, 1])
def test_the_tests_unused_code_is_accepted_after_the_current_step_is_spent(manager, drift):
    """An enrolment typed just after the step turned stores drift -1; the next code must still pass."""
    from django_otp.oath import TOTP

    from tests.two_factor_support import authenticator_for, unused_code

    device = authenticator_for(manager)
    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    TOTPDevice.objects.filter(pk=device.pk).update(drift=drift, last_t=totp.t())
    code = unused_code(device)
    assert two_factor.verify_code(manager, code) is not None
