"""Signing in through the real login page in Chromium, and the lockout after five bad passwords."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import BROWSER_TEST
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST


def test_sign_in_reaches_the_admin(sign_in, manager, employee):
    page = sign_in(manager.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page).to_have_title(re.compile("Dashboard"))
    page.goto("/admin/users/")
    expect(page.locator("main")).to_contain_text(employee.username)


def test_lockout_message_after_five_bad_passwords(sign_in, employee):
    for _attempt in range(4):
        page = sign_in(employee.username, "wrong-password-123")
        expect(page.locator(".messages")).to_contain_text(re.compile("didn.t match"))
    page = sign_in(employee.username, "wrong-password-123")
    expect(page.locator("h1")).to_have_text("Too many failed sign-in attempts")
    expect(page.locator("main")).to_contain_text("15 minutes")
    page = sign_in(employee.username, PASSWORD)
    expect(page.locator("h1")).to_have_text("Too many failed sign-in attempts")
