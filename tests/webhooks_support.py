"""A webhook receiver on 127.0.0.1 over real HTTP, scripted to fail for a while, and fixtures around it.

The receiver checks each request's signature and counts, per ``X-Intralog-Delivery`` id, the requests it
saw and the ones it acknowledged with a 2xx. Its script names what the next requests get: ``drop`` (the
connection closed without an answer), ``slow`` (no answer before the sender's timeout), ``500``; then it
answers 200.

Import into a test module with ``from tests.webhooks_support import *``.
"""

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks import interest
from webhooks.models import Delivery, EventType, Subscription
from webhooks.services import deliver_due
from webhooks.signing import sign

__all__ = [
    "FakeReceiver",
    "deliver_until_done",
    "fast_webhooks",
    "free_port",
    "make_subscription",
    "receiver",
]

ALL_EVENTS = [value for value, _label in EventType.choices]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeReceiver:
    """A receiver with a script of failures; ``accepted`` counts the 2xx answers per delivery id."""

    def __init__(self, secret="", port=None, script=(), slow_seconds=3.0):
        self.secret = secret
        self.port = port or free_port()
        self.script = list(script)
        self.slow_seconds = slow_seconds
        self.seen = Counter()
        self.accepted = Counter()
        self.bad_signatures = 0
        self.bodies = {}
        self.seen_after_accept = 0
        self.lock = threading.Lock()
        self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def next_move(self):
        with self.lock:
            return self.script.pop(0) if self.script else "ok"

    def handle(self, handler):
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        delivery_id = handler.headers.get("X-Intralog-Delivery", "")
        with self.lock:
            self.seen[delivery_id] += 1
            if self.accepted[delivery_id]:
                self.seen_after_accept += 1
        move = self.next_move()
        if move == "drop":
            handler.close_connection = True
            return None
        if move == "slow":
            time.sleep(self.slow_seconds)
            return 503
        if move == "500":
            return 500
        expected = sign(self.secret, handler.headers.get("X-Intralog-Timestamp", ""), delivery_id, body)
        if not self.secret or expected != handler.headers.get("X-Intralog-Signature"):
            with self.lock:
                self.bad_signatures += 1
            return 401
        with self.lock:
            self.accepted[delivery_id] += 1
            self.bodies[delivery_id] = json.loads(body)
        return 200

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # header and body leave at once, not 40 ms apart

            def do_POST(self):
                code = owner.handle(self)
                if code is None:
                    return
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def fast_webhooks(settings):
    """Short timeouts and backoffs; delivery runs are driven by the test, not woken at commit."""
    settings.WEBHOOKS_WAKE_UP = False
    settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS = 1
    settings.WEBHOOKS_TIMEOUT_SECONDS = 2  # room for a busy CI machine: an answer read late is sent again
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 0.02
    settings.WEBHOOKS_RETRY_CAP_SECONDS = 0.1
    settings.WEBHOOKS_RUN_SECONDS = 600
    return settings


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs):
        made.append(FakeReceiver(**kwargs))
        return made[-1]

    yield make
    for fake in made:
        fake.stop()


@pytest.fixture
def make_subscription(db):
    """Subscriptions; the in-memory interest is reset afterwards, so later tests see none."""

    def make(url, events=ALL_EVENTS, brands=(), **fields):
        subscription = Subscription.objects.create(
            name=fields.pop("name", "Receptor"), url=url, events=list(events), **fields
        )
        if brands:
            subscription.brands.set(brands)
        return subscription

    yield make
    interest.invalidate()


def deliver_until_done(timeout=60.0):
    """Run delivery batches until nothing is pending or sending (waiting out backoffs); returns the runs."""
    deadline = time.monotonic() + timeout
    runs = 0
    while Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists():
        assert time.monotonic() < deadline, "deliveries still pending at the deadline"
        if deliver_due() == 0:
            time.sleep(0.02)
        runs += 1
    return runs
