"""The team the load benchmark plays (``python -m bench load``): Locust users, no Django in this process.

Reps sign in through the admin's login form and work their own leads (listing, lead page, status change
and note through the real forms with their CSRF token); managers read the dashboards; visitors fill in
the public lead form; the brands' WordPress sites post signed webhooks. Everything the run needs (users,
lead ids, addresses, the webhook secret) comes from the plan file ``bench.load_scenario`` writes
(``LOAD_PLAN``); every form, webhook, status change and note sent is written to the marks file
(``LOAD_MARKS``, JSON lines) with a marker of its own, so the checks after the run can find each one in
the database exactly once.
"""

import hashlib
import hmac
import itertools
import json
import os
import random
import re
import time
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

from locust import HttpUser, between, constant_throughput, events, task

PLAN = (
    json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
    if os.environ.get("LOAD_PLAN")
    else {}
)
URLS = PLAN.get("urls", {})
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_ACTION = re.compile(r'<form action="([^"]*[?&](?:amp;)?once=[^"]+)"')
ALREADY_RECEIVED = "data-already-received"
RENDER_TOKEN_INPUT = re.compile(
    r'name="render_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="render_token"'
)
_counter = itertools.count(1)
_marks = None


def form_action(html, default):
    """Where a browser sends the page's form: its action with its ``once`` key, else ``default``."""
    found = FORM_ACTION.search(html)
    return unescape(found.group(1)) if found else default


def marks_file():
    global _marks  # noqa: PLW0603 - one append-only file per Locust process
    if _marks is None:
        _marks = open(os.environ["LOAD_MARKS"], "a", encoding="utf-8")  # noqa: SIM115
    return _marks


def mark(kind, marker, ok, **extra):
    """One line for the post-run checks: what was sent, and whether the server acknowledged it."""
    handle = marks_file()
    handle.write(json.dumps({"kind": kind, "marker": marker, "ok": ok, "at": time.time(), **extra}) + "\n")
    handle.flush()


def new_marker(kind):
    return f"{PLAN.get('run_id', 'run')}-{kind}{os.getpid()}x{next(_counter)}"


def sign_webhook(secret, timestamp, delivery_id, body):
    """What ``wordpress.webhooks.sign`` computes, as a WordPress site does it."""
    message = f"{timestamp}.{delivery_id}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def csrf_from(html):
    found = CSRF_INPUT.search(html)
    return found.group(1) if found else ""


class SignedInUser(HttpUser):
    """A person of the team: signs in through the admin's login form (again if the session was lost)."""

    abstract = True
    people_key = ""
    signed_in = False

    def on_start(self):
        people = PLAN[self.people_key]
        self.username = people[next(PLAN_POSITIONS[self.people_key]) % len(people)]
        for _attempt in range(3):
            if self.sign_in():
                return
            time.sleep(2)

    def sign_in(self):
        page = self.client.get(URLS["login"], name="sign in (form)")
        if page.status_code != 200:  # noqa: PLR2004
            return False
        credentials = {
            "username": self.username,
            "password": PLAN["password"],
            "csrfmiddlewaretoken": csrf_from(page.text),
        }
        with self.client.post(
            URLS["login"], credentials, name="sign in (POST)", catch_response=True
        ) as response:
            self.signed_in = response.status_code == 200 and URLS["login"] not in (response.url or "")  # noqa: PLR2004
            if not self.signed_in:
                response.failure(f"{self.username} could not sign in ({response.status_code})")
        return self.signed_in

    def page(self, url, name):
        """GET an admin page as this person; None when it failed (counted as an error by Locust)."""
        if not self.signed_in and not self.sign_in():
            return None
        with self.client.get(url, name=name, catch_response=True) as response:
            if URLS["login"] in (response.url or ""):
                self.signed_in = False
                response.failure("sent to the login page")
                return None
            return response if response.status_code == 200 else None  # noqa: PLR2004

    def acknowledged(self, response):
        """A form POST the server carried out: the redirect to the lead, not to the login page."""
        location = response.headers.get("Location", "")
        return response.status_code == 302 and URLS["login"] not in location  # noqa: PLR2004


PLAN_POSITIONS = {"reps": itertools.count(), "managers": itertools.count()}


class Rep(SignedInUser):
    """A salesperson working their leads: the listing, a lead's page, a status change, a note."""

    fixed_count = int(os.environ.get("LOAD_REPS", "30"))
    wait_time = between(
        float(os.environ.get("LOAD_REP_WAIT_MIN", "3")), float(os.environ.get("LOAD_REP_WAIT_MAX", "10"))
    )
    people_key = "reps"
    weight = 1

    def on_start(self):
        super().on_start()
        self.leads = PLAN["rep_leads"][self.username]
        self.statuses = PLAN["statuses"]

    def _lead(self):
        return random.choice(self.leads)

    @task(4)
    def listing(self):
        self.page(URLS["listing"], "rep: lead listing")

    @task(2)
    def search(self):
        query = urlencode({"q": random.choice(["sa", "log", "pal", "@"])})
        self.page(URLS["listing"] + "?" + query, "rep: listing search")

    @task(5)
    def lead_page(self):
        self.page(URLS["lead"].replace("{id}", str(self._lead())), "rep: lead page")

    @task(2)
    def change_status(self):
        lead = self._lead()
        url = URLS["status"].replace("{id}", str(lead))
        page = self.page(url, "rep: status form")
        if page is None:
            return
        select = re.search(r'<select name="status".*?</select>', page.text, re.S)
        offered = set(re.findall(r'<option value="(\d+)"', select.group(0) if select else ""))
        choices = [status for status in self.statuses if str(status["pk"]) in offered]
        if not choices:
            return
        status = random.choice(choices)
        marker = new_marker("s")
        data = {
            "csrfmiddlewaretoken": csrf_from(page.text),
            "status": status["pk"],
            "note": f"Carga {marker}",
        }
        if status["requires_follow_up"]:
            data["follow_up_at"] = (datetime.now() + timedelta(days=3)).strftime("%Y-%m-%d 10:00")  # noqa: DTZ005
        with self.client.post(
            form_action(page.text, url),
            data,
            name="rep: status change (POST)",
            catch_response=True,
            allow_redirects=False,
        ) as response:
            ok = self.acknowledged(response)
            if not ok:
                response.failure(f"status change answered {response.status_code}")
        mark("status", marker, ok, lead=lead, status=status["key"])

    @task(2)
    def add_note(self):
        lead = self._lead()
        url = URLS["note"].replace("{id}", str(lead))
        page = self.page(url, "rep: note form")
        if page is None:
            return
        marker = new_marker("n")
        data = {
            "csrfmiddlewaretoken": csrf_from(page.text),
            "note": f"Carga {marker}: llamé, pide cotización.",
        }
        with self.client.post(
            form_action(page.text, url),
            data,
            name="rep: note (POST)",
            catch_response=True,
            allow_redirects=False,
        ) as response:
            ok = self.acknowledged(response)
            if not ok:
                response.failure(f"note answered {response.status_code}")
        mark("note", marker, ok, lead=lead)

    @task(1)
    def my_day(self):
        self.page(URLS["home"], "rep: home (my day)")


class Manager(SignedInUser):
    """A manager on the dashboards, now and then the lead listing."""

    fixed_count = int(os.environ.get("LOAD_MANAGERS", "5"))
    wait_time = between(
        float(os.environ.get("LOAD_MANAGER_WAIT_MIN", "5")),
        float(os.environ.get("LOAD_MANAGER_WAIT_MAX", "15")),
    )
    people_key = "managers"

    @task(6)
    def dashboard(self):
        name = random.choice(list(PLAN["dashboards"]))
        self.page(PLAN["dashboards"][name], f"manager: dashboard {name}")

    @task(1)
    def listing(self):
        self.page(URLS["listing"], "manager: lead listing")


class FormVisitor(HttpUser):
    """A visitor of the public site: opens the lead form, takes a few seconds to fill it in, sends it."""

    fixed_count = int(os.environ.get("LOAD_VISITORS", "25"))
    wait_time = constant_throughput(
        float(os.environ.get("LOAD_FORMS_PER_SECOND", "5")) / int(os.environ.get("LOAD_VISITORS", "25"))
    )
    fill_seconds = float(os.environ.get("LOAD_FILL_SECONDS", "3.5"))

    @task
    def submit(self):
        self.client.cookies.clear()
        page = self.client.get(URLS["form"], name="visitor: lead form page")
        found = RENDER_TOKEN_INPUT.search(page.text)
        if page.status_code != 200 or not found:  # noqa: PLR2004 - no form to fill in (the GET's error counts)
            return
        token = found.group(1) or found.group(2)
        time.sleep(self.fill_seconds + random.random())
        marker = new_marker("f")
        data = {
            **PLAN["form_values"],
            "email": f"{marker}@load.example",
            "telefono": f"011 {random.randint(4000, 4999)}-{random.randint(1000, 9999)}",
            "render_token": token,
            "website": "",
            "csrfmiddlewaretoken": csrf_from(page.text),
        }
        with self.client.post(
            form_action(page.text, URLS["form"]), data, name="visitor: lead form (POST)", catch_response=True
        ) as response:
            # "Already received": the proxy sent it again after its first app server died having stored it.
            received = PLAN["form_thanks"] in response.text or ALREADY_RECEIVED in response.text
            ok = response.status_code == 200 and received  # noqa: PLR2004
            if not ok:
                response.failure(f"form answered {response.status_code} without its thank-you")
        mark("form", marker, ok)


class WordPressSite(HttpUser):
    """A brand's WordPress site posting each new submission as a signed webhook; a failed post is sent
    again under the same delivery id, as a site retries."""

    fixed_count = int(os.environ.get("LOAD_SITES", "10"))
    wait_time = constant_throughput(
        float(os.environ.get("LOAD_WEBHOOKS_PER_SECOND", "10")) / int(os.environ.get("LOAD_SITES", "10"))
    )

    @task
    def post_submission(self):
        marker = new_marker("w")
        form_id = random.choice(PLAN["webhook_forms"])
        body = urlencode(
            {
                "Nombre y apellido": f"Contacto {marker[-6:]}",
                "Email": f"{marker}@load.example",
                "Teléfono": f"011 15-{random.randint(4000, 4999)}-{random.randint(1000, 9999)}",
                "Mensaje": "Quiero cotizar almacenaje para 40 pallets.",
                "form_id": form_id,
                "form_name": "Contacto",
            }
        ).encode()
        ok = False
        for _attempt in range(3):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Intralog-Timestamp": timestamp,
                "X-Intralog-Delivery": marker,
                "X-Intralog-Signature": sign_webhook(PLAN["webhook_secret"], timestamp, marker, body),
            }
            with self.client.post(
                URLS["webhook"],
                data=body,
                headers=headers,
                name="wordpress: webhook (POST)",
                catch_response=True,
            ) as response:
                ok = response.status_code in (200, 202)
                if not ok:
                    response.failure(f"webhook answered {response.status_code}")
            if ok:
                break
            time.sleep(1)
        mark("webhook", marker, ok)


@events.quitting.add_listener
def _close_marks(environment, **_kwargs):
    if _marks is not None:
        _marks.close()
