"""Structured logs with LOG_FORMAT=json, and errors to Sentry only when SENTRY_DSN is set (sent over HTTP
to a stand-in Sentry on 127.0.0.1)."""

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli
import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_python(script, **env):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "intralog.settings.test", **env}
    for name in ("SENTRY_DSN", "LOG_FORMAT"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


# The development settings keep the project's LOGGING (the test settings silence it).
LOG_SETTINGS = {"DJANGO_SETTINGS_MODULE": "intralog.settings.dev", "SECRET_KEY": "x" * 50}
LOG_LINE = (
    "import logging\n"
    "logging.getLogger('intralog.ops').warning('sync of %s failed', 'intralog', extra={'source': 7})\n"
)


def test_json_logs_are_one_object_a_line():
    result = run_python(LOG_LINE, LOG_FORMAT="json", **LOG_SETTINGS)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["message"] == "sync of intralog failed"
    assert record["level"] == "WARNING" and record["logger"] == "intralog.ops" and record["source"] == 7
    assert record["time"].endswith("+00:00")


def test_text_logs_by_default():
    result = run_python(LOG_LINE, **LOG_SETTINGS)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "sync of intralog failed"


class _Sentry(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # the SDK compresses with brotli when that package is installed
            body = brotli.decompress(body)
        self.received.append((self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        """Quiet."""


@pytest.fixture
def sentry_server():
    _Sentry.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sentry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


REPORT = (
    "import sys, sentry_sdk\n"
    "client = sentry_sdk.get_client()\n"
    "print(client.is_active(), 'django' in client.integrations, client.options['send_default_pii'])\n"
    "try:\n"
    "    1 / 0\n"
    "except ZeroDivisionError:\n"
    "    sentry_sdk.capture_exception()\n"
    "sentry_sdk.flush(5)\n"
)


def test_errors_go_to_sentry_when_its_dsn_is_set(sentry_server):
    port = sentry_server.server_address[1]
    result = run_python(REPORT, SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/42")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "False"]
    assert [path for path, _body in _Sentry.received] == ["/api/42/envelope/"]
    assert b"ZeroDivisionError" in _Sentry.received[0][1]


def test_no_sentry_without_a_dsn(sentry_server):
    result = run_python("import sys\nprint('sentry_sdk' in sys.modules)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]
    assert _Sentry.received == []
