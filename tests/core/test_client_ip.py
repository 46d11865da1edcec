"""The client address behind ``PROXY_COUNT`` proxies: one reading for the sign-in lockout and the form rate limit.

The last test runs the app under gunicorn, as in production behind the documented proxy: five wrong
passwords from one forwarded client lock that client, not everybody behind the proxy.
"""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from core.client_ip import client_ip
from crm.models import Lead, Role
from tests.conftest import PASSWORD
from tests.forms_support import make_form_page, submission

PROXY = "127.0.0.1"
CLIENT_A = "203.0.113.10"
CLIENT_B = "198.51.100.20"
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "proxies, forwarded, remote, expected",
    [
        (0, "", "192.0.2.1", "192.0.2.1"),
        (0, "203.0.113.10", "192.0.2.1", "192.0.2.1"),  # no proxy: the header is anybody's
        (1, "203.0.113.10", PROXY, CLIENT_A),
        (1, "6.6.6.6, 203.0.113.10", PROXY, CLIENT_A),  # a spoofed entry on the left is ignored
        (1, "not-an-ip, 6.6.6.6,203.0.113.10", PROXY, CLIENT_A),
        (2, "203.0.113.10, 10.0.0.2", PROXY, CLIENT_A),  # CDN then nginx
        (2, "6.6.6.6, 203.0.113.10, 10.0.0.2", PROXY, CLIENT_A),
        (2, "203.0.113.10", "10.0.0.2", "10.0.0.2"),  # fewer entries: not through both proxies
        (1, "", "192.0.2.1", "192.0.2.1"),  # straight to the app
        (1, "2001:db8::7", PROXY, "2001:db8::7"),
        (1, "192.168.1.30", PROXY, "192.168.1.30"),  # a client on the office network
    ],
)
def test_client_ip_honours_proxy_count(rf, settings, proxies, forwarded, remote, expected):
    settings.PROXY_COUNT = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    assert client_ip(rf.get("/", REMOTE_ADDR=remote, **headers)) == expected


def test_axes_reads_the_same_client_ip():
    from axes.helpers import get_client_ip_address

    assert django_settings.AXES_CLIENT_IP_CALLABLE == "core.client_ip.client_ip"
    assert get_client_ip_address.__module__ == "axes.helpers"


def forwarded_sign_in(client, username, password, forwarded):
    return client.post(
        reverse("wagtailadmin_login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_lockout_behind_a_proxy_keys_on_the_forwarded_client(client, employee, settings):
    settings.PROXY_COUNT = 1
    statuses = [
        forwarded_sign_in(
            client, employee.username, "wrong-password-123", f"10.9.9.{n}, {CLIENT_A}"
        ).status_code
        for n in range(5)
    ]
    assert statuses == [200] * 4 + [429]
    assert forwarded_sign_in(client, employee.username, PASSWORD, CLIENT_A).status_code == 429
    assert forwarded_sign_in(client, employee.username, PASSWORD, CLIENT_B).status_code == 302


@pytest.mark.django_db
def test_form_rate_limit_behind_a_proxy_counts_per_forwarded_client(client, brands, settings):
    cache.clear()
    settings.PROXY_COUNT = 1
    settings.LEAD_FORM_RATE_LIMIT = 2
    page = make_form_page(brands["intralog"])
    for n in range(3):
        client.post(
            page.url, submission(page), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, {CLIENT_A}"
        )
    assert Lead.objects.count() == 2
    client.post(page.url, submission(page), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT_B)
    assert Lead.objects.count() == 3
    cache.clear()


# ---- under gunicorn ------------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url_for_another_process(tmp_path):
    """The committed test data where a separate process can read it: a file copy of the in-memory
    SQLite test database, or the PostgreSQL test database itself."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        path = tmp_path / "gunicorn.sqlite3"
        copy = sqlite3.connect(path)
        connection.connection.backup(copy)
        copy.close()
        return f"sqlite:///{path}"
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def gunicorn(tmp_path):
    """Start gunicorn on a free port with PROXY_COUNT=1; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "intralog.settings.test",
        "DATABASE_URL": database_url_for_another_process(tmp_path),
        "PROXY_COUNT": "1",
        "DB_CONN_MAX_AGE": "0",
    }
    env.pop("REDIS_URL", None)
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "intralog.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(base + "/admin/login/", timeout=30)
                break
            except (requests.ConnectionError, requests.Timeout):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "gunicorn.log").read_text()) from None
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def gunicorn_sign_in(base, username, password, forwarded):
    """Sign in through the login page as a browser behind the proxy would: the proxy adds the header."""
    session = requests.Session()
    headers = {"X-Forwarded-For": forwarded}
    page = session.get(base + "/admin/login/", headers=headers, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        base + "/admin/login/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_under_gunicorn_five_wrong_passwords_lock_the_forwarded_client_only(gunicorn_user, gunicorn):
    wrong = [
        gunicorn_sign_in(gunicorn, gunicorn_user, "wrong-password-123", f"10.9.9.{n}, {CLIENT_A}").status_code
        for n in range(5)
    ]
    assert wrong == [200] * 4 + [429]
    assert gunicorn_sign_in(gunicorn, gunicorn_user, PASSWORD, CLIENT_A).status_code == 429
    signed_in = gunicorn_sign_in(gunicorn, gunicorn_user, PASSWORD, CLIENT_B)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/admin/"


@pytest.fixture
def gunicorn_user(make_user):
    """A user committed before gunicorn starts (the fixture order puts it first)."""
    return make_user("proxied", Role.EMPLOYEE).username
