"""Two-factor sign-in in Chromium: a manager enrols, signs out, gets nowhere with the password alone,
signs in with a code and then with a recovery code, which works once only."""

import re
from base64 import b32decode

from django_otp.oath import TOTP
from playwright.sync_api import expect

from crm import two_factor
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.conftest import PASSWORD
from tests.two_factor_support import authenticator_for, current_code, unused_code

pytestmark = BROWSER_TEST

ADMIN_PAGES = ["/admin/", "/admin/leads/", "/admin/leads/?export=csv", "/admin/users/", "/admin/dashboards/"]


def code_from_key(readable_key):
    totp = TOTP(b32decode(readable_key.replace(" ", "")))
    return f"{totp.token():06d}"


def password_only(page, username):
    page.goto("/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def sign_out(page):
    page.goto("/admin/two-factor/settings/")
    page.evaluate(
        """() => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = "/admin/logout/";
            const token = document.querySelector("input[name=csrfmiddlewaretoken]").cloneNode();
            form.appendChild(token);
            document.body.appendChild(form);
            form.submit();
        }"""
    )
    page.wait_for_url(re.compile(r"/admin/login/"))


def test_manager_enrols_then_needs_the_code_then_a_recovery_code_once(page, manager):
    page.set_viewport_size(DESKTOP)
    password_only(page, manager.username)
    expect(page).to_have_url(re.compile(r"/admin/two-factor/enrol/"))
    expect(page.locator("h1")).to_have_text("Set up two-factor sign-in")
    expect(page.locator(".two-factor-qr svg")).to_be_visible()
    shoot(page, "two-factor-enrol-1280")
    page.set_viewport_size(PHONE)
    shoot(page, "two-factor-enrol-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)

    page.click("summary")
    key = page.locator("[data-two-factor-secret]").inner_text()
    page.fill("input[name=code]", code_from_key(key))
    page.click("form.login-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your recovery codes")
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    shoot(page, "two-factor-recovery-codes-1280")
    page.click("text=I have saved them, continue")
    expect(page).to_have_url(re.compile(r"/admin/$"))

    sign_out(page)
    password_only(page, manager.username)
    expect(page).to_have_url(re.compile(r"/admin/two-factor/verify/"))
    shoot(page, "two-factor-verify-1280")
    page.set_viewport_size(PHONE)
    shoot(page, "two-factor-verify-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)
    for path in ADMIN_PAGES:
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/admin/two-factor/verify/\?next="))
        expect(page.locator("h1")).to_have_text("Enter your code")

    page.fill("input[name=code]", unused_code(authenticator_for(manager)))
    page.click("form.login-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/dashboards/$"))

    sign_out(page)
    password_only(page, manager.username)
    page.fill("input[name=code]", codes[0])
    page.click("form.login-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))

    sign_out(page)
    password_only(page, manager.username)
    page.fill("input[name=code]", codes[0])
    page.click("form.login-form button[type=submit]")
    expect(page.locator(".error-message, .help-critical, .w-field__errors").first).to_contain_text(
        "not valid"
    )
    expect(page).to_have_url(re.compile(r"/admin/two-factor/verify/"))
    page.goto("/admin/leads/")
    expect(page).to_have_url(re.compile(r"/admin/two-factor/verify/"))


def test_remembered_browser_skips_the_code(page, manager):
    device = authenticator_for(manager)
    password_only(page, manager.username)
    page.fill("input[name=code]", current_code(device))
    page.check("input[name=remember]")
    page.click("form.login-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    sign_out(page)
    password_only(page, manager.username)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page).to_have_title(re.compile("Dashboard"))


def test_settings_page_and_admin_reset(page, sign_in, admin_user, employee):
    authenticator_for(employee)
    two_factor.new_recovery_codes(employee)
    sign_in(admin_user.username, PASSWORD)
    for viewport, size in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        page.goto("/admin/two-factor/settings/")
        expect(page.locator("main")).to_contain_text("Two-factor sign-in is on.")
        expect(page.locator("main")).not_to_contain_text("Turn off two-factor sign-in")
        shoot(page, f"two-factor-settings-{viewport}")
    page.set_viewport_size(DESKTOP)
    page.goto(f"/admin/users/edit/{employee.pk}/")
    page.locator("#w-slim-header-buttons button[aria-label=Actions]").click()
    page.get_by_role("link", name="Reset two-factor sign-in").click()
    expect(page).to_have_url(re.compile(rf"/admin/two-factor/reset/{employee.pk}/$"))
    expect(page.locator("main")).to_contain_text("will no longer sign in with their authenticator app")
    shoot(page, "two-factor-reset-1280")
    page.get_by_role("button", name="Yes, reset two-factor sign-in").click()
    expect(page.locator(".messages")).to_contain_text("reset")
    assert not two_factor.has_second_factor(employee)
