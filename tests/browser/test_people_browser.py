"""People admin in Chromium: an admin clears a sign-in lock from the listing and from the lock's page;
a new invitation's expiry reads "in 2 days, 23 hours"."""

import re

import pytest
from axes.models import AccessAttempt
from playwright.sync_api import expect

from crm import people
from crm.models import Role
from tests.browser.conftest import BROWSER_TEST
from tests.browser.shots import DESKTOP, PHONE, shoot
from tests.conftest import PASSWORD

pytestmark = BROWSER_TEST


def locked(username):
    return AccessAttempt.objects.create(
        username=username, ip_address="10.0.0.7", user_agent="Firefox", failures_since_start=5
    )


@pytest.mark.parametrize(("viewport", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_admin_clears_a_lock_from_its_page(sign_in, admin_user, employee, viewport, size):
    locked(employee.username)
    page = sign_in(admin_user.username, PASSWORD)
    page.set_viewport_size(size)
    page.goto("/admin/sign-in-locks/")
    expect(page.locator("h1")).to_contain_text("Sign-in locks")
    row = page.locator("main table tbody tr").filter(has_text=employee.username)
    expect(row.get_by_role("link", name="Clear lock")).to_be_visible()
    shoot(page, f"sign-in-locks-{viewport}")

    row.get_by_role("link", name=employee.username).click()
    expect(page).to_have_url(re.compile(r"/admin/sign-in-locks/inspect/\d+/$"))
    expect(page.locator("header")).to_contain_text(f"{employee.username} from 10.0.0.7")
    shoot(page, f"sign-in-lock-page-{viewport}")
    page.locator("header").get_by_role("link", name="Clear lock").click()
    page.get_by_role("button", name="Yes, clear the lock").click()

    expect(page.locator(".messages")).to_contain_text(
        f"Sign-in lock cleared: {employee.username} from 10.0.0.7."
    )
    expect(page.locator("main")).to_contain_text("There are no access attempts")
    assert not AccessAttempt.objects.exists()


def test_admin_clears_a_lock_from_the_listing(sign_in, admin_user, employee, other_employee):
    locked(employee.username)
    locked(other_employee.username)
    page = sign_in(admin_user.username, PASSWORD)
    page.goto("/admin/sign-in-locks/")
    page.locator("main table tbody tr").filter(has_text=employee.username).get_by_role(
        "link", name="Clear lock"
    ).click()
    page.get_by_role("button", name="Yes, clear the lock").click()
    expect(page.locator("main table")).to_contain_text(other_employee.username)
    expect(page.locator("main table")).not_to_contain_text(employee.username)
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [other_employee.username]


@pytest.mark.parametrize(("viewport", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_a_new_invitation_expires_in_three_days(sign_in, manager, brands, viewport, size):
    people.invite(manager, "nueva@example.com", Role.EMPLOYEE, [brands["intralog"]])
    page = sign_in(manager.username, PASSWORD)
    page.set_viewport_size(size)
    page.goto("/admin/invitations/")
    row = page.locator("main table tbody tr").filter(has_text="nueva@example.com")
    expect(row.locator("td").last).to_have_text(re.compile(r"^\s*In 2\s+days, 2[23]\s+hours\s*$"))
    shoot(page, f"invitations-{viewport}")
