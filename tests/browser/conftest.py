"""Playwright against pytest-django's ``live_server``, with Debian's Chromium.

Use the ``page`` fixture (a fresh browser context whose base URL is the live server) and mark the tests
with ``pytestmark = BROWSER_TEST``: live_server tests are transactional, and ``serialized_rollback``
restores the data migrations' rows (brands, role groups, statuses) that the flush would remove.
"""

import os

import pytest

from tests.two_factor_support import authenticator_for, current_code

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

BROWSER_TEST = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _serialized_contents():
    from django.db import connections

    return {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }


def _restore_serialized_contents(serialized):
    """Under Playwright's event loop Django hands out new connection objects, which lack the data
    pytest-django serialized for ``serialized_rollback``; give it back to them."""
    from django.db import connections

    for alias, contents in serialized.items():
        if not hasattr(connections[alias], "_test_serialized_contents"):
            connections[alias]._test_serialized_contents = contents


@pytest.fixture(scope="session")
def browser(django_db_setup, django_db_blocker):
    # Playwright's sync API runs an event loop in this thread; Django's ORM must still be usable here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    serialized = _serialized_contents()
    try:
        with sync_playwright() as playwright:
            _restore_serialized_contents(serialized)
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sign_in(page):
    """Sign in through the real Wagtail login page; returns the page on the admin dashboard.

    Admins and managers (``TWO_FACTOR_REQUIRED_ROLES``) also pass the second step on the real code page:
    they get an authenticator if they have none, and the fixture types the code it shows now (its used
    time steps forgotten first, so one test may sign the same person in twice within 30 seconds).
    """

    def submit(username, password):
        return sign_in_on(page, username, password)

    return submit


def sign_in_on(page, username, password):
    """Sign ``username`` in on ``page`` (any browser context), with the second step when their role
    requires it (see the ``sign_in`` fixture); returns the page."""
    device = _authenticator_of_required_role(username)
    page.goto("/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if device is not None and "/admin/two-factor/verify/" in page.url:
        type(device).objects.filter(pk=device.pk).update(last_t=-1)
        page.fill("input[name=code]", current_code(device))
        page.click("form.login-form button[type=submit]")
        page.wait_for_load_state()
    return page


def _authenticator_of_required_role(username):
    from crm import two_factor
    from crm.models import User

    user = User.objects.filter(username=username).first()
    if user is None or not two_factor.is_required(user):
        return None
    return authenticator_for(user)
