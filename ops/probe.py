"""Wait for a health URL to answer 200 (for systemd's ``ExecStartPost`` and container health checks)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.utils.translation import gettext as _


def probe_once(url: str, timeout: float = 5) -> int:
    """The status the URL answers (0 when nothing answers)."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise ValueError(_("Not an http(s) URL: %(url)s") % {"url": url})
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return 0


def wait_for(url: str, wait_seconds: float, interval: float = 0.5) -> int:
    """Probe until the URL answers 200 or ``wait_seconds`` pass; returns the last status."""
    deadline = time.monotonic() + wait_seconds
    while True:
        status = probe_once(url)
        if status == 200 or time.monotonic() >= deadline:
            return status
        time.sleep(interval)
