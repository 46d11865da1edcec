"""HTTP to a WordPress site: Basic auth with an application password, errors turned into clear reasons.

429/503 are retried, honouring ``Retry-After``, with capped exponential backoff and jitter; every other
failure raises at once so the run fails with its reason and the cursor stays where it is.
"""

import email.utils
import json
import random
import time

import requests
from django.utils import timezone
from django.utils.translation import gettext as _

from .conf import setting

RETRYABLE_STATUSES = (429, 503)


class SyncError(Exception):
    """A failure that ends the run (or the form) with a human-readable reason."""


class CredentialsError(SyncError):
    """401: the username or application password is wrong (or missing)."""


class RightsError(CredentialsError):
    """403: the user signed in, but lacks the capability to read the submissions."""


class NotFoundError(SyncError):
    """404: no such route (plugin off or renamed), form or entry."""


def sleep(seconds):
    time.sleep(seconds)


def retry_after_seconds(value, now=None):
    """Seconds asked for by a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or timezone.now()
    return max(0, int((moment - now).total_seconds()))


def backoff_delay(attempt, retry_after=None, base=None, cap=None):
    """Exponential delay for ``attempt`` (0-based) with jitter, at least ``retry_after``, at most ``cap``."""
    base = setting("WORDPRESS_BACKOFF_BASE") if base is None else base
    cap = setting("WORDPRESS_BACKOFF_CAP") if cap is None else cap
    delay = base * (2**attempt)
    delay += random.uniform(0, delay / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


class WordPressClient:
    """GETs JSON from one source's site."""

    def __init__(self, source, session=None):
        self.source = source
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "INTRALOG-Leads-Sync/1.0"
        self.session.headers["Accept"] = "application/json"
        if source.password_unreadable:
            raise CredentialsError(
                _(
                    "The stored application password cannot be decrypted: SECRET_KEY has changed. List the "
                    "previous key in SECRET_KEY_FALLBACKS, or enter the password again."
                )
            )
        if source.username or source.app_password:
            self.session.auth = (source.username, (source.app_password or "").replace(" ", ""))
        self.timeout = (setting("WORDPRESS_CONNECT_TIMEOUT"), setting("WORDPRESS_READ_TIMEOUT"))
        self.max_attempts = setting("WORDPRESS_MAX_ATTEMPTS")
        self.waits = []

    def get(self, url, params=None):
        """``(data, headers)`` of a JSON GET; raises ``SyncError``/``CredentialsError`` with the reason."""
        for attempt in range(self.max_attempts):
            response = self._send(url, params)
            if response.status_code in RETRYABLE_STATUSES:
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > setting("WORDPRESS_BACKOFF_CAP"):
                    raise SyncError(
                        _("The site asked to wait %(seconds)s s (HTTP %(status)s); a later run will retry.")
                        % {"seconds": retry_after, "status": response.status_code}
                    )
                if attempt + 1 < self.max_attempts:
                    delay = backoff_delay(attempt, retry_after)
                    self.waits.append(delay)
                    sleep(delay)
                    continue
                raise SyncError(
                    _("The site is busy (HTTP %(status)s) after %(attempts)s attempts.")
                    % {"status": response.status_code, "attempts": self.max_attempts}
                )
            return self._decode(response), response.headers
        raise SyncError(_("No answer from the site."))  # pragma: no cover

    def _send(self, url, params):
        try:
            return self.session.get(url, params=params, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as error:
            raise SyncError(_("The site did not answer in time (%(url)s).") % {"url": url}) from error
        except requests.ConnectionError as error:
            raise SyncError(_("Could not connect to the site (%(url)s).") % {"url": url}) from error
        except requests.RequestException as error:
            raise SyncError(_("HTTP error: %(error)s") % {"error": type(error).__name__}) from error

    def _decode(self, response):
        status = response.status_code
        try:
            body = response.content
        except requests.RequestException as error:
            raise SyncError(_("The answer was cut off (HTTP %(status)s).") % {"status": status}) from error
        data = None
        if body.lstrip()[:1] in (b"{", b"["):
            try:
                data = json.loads(body)
            except ValueError as error:
                raise SyncError(
                    _("The site sent cut-off or invalid JSON (HTTP %(status)s, %(size)s bytes).")
                    % {"status": status, "size": len(body)}
                ) from error
        if status == 401:
            raise CredentialsError(
                _(
                    "The site refused the username or application password (HTTP 401 %(code)s). "
                    "Enter them again on the source."
                )
                % {"code": _error_code(data)}
            )
        if status == 403:
            raise RightsError(
                _(
                    "The WordPress user “%(user)s” signed in but lacks the rights to read the submissions "
                    "(HTTP 403 %(code)s). Give it the administrator role, or the form plugin's capability "
                    "to view entries."
                )
                % {"user": self.source.username, "code": _error_code(data)}
            )
        if data is None:
            raise SyncError(
                _("The site sent an HTML or non-JSON page instead of JSON (HTTP %(status)s).")
                % {"status": status}
            )
        if status == 404:
            raise NotFoundError(
                _("Not found (HTTP 404 %(code)s): the plugin is off, renamed, or the form does not exist.")
                % {"code": _error_code(data)}
            )
        if status >= 300:
            raise SyncError(
                _("The site answered HTTP %(status)s %(code)s: %(message)s")
                % {"status": status, "code": _error_code(data), "message": _error_message(data)}
            )
        return data


def _error_code(data):
    return str(data.get("code", "")) if isinstance(data, dict) else ""


def _error_message(data):
    return str(data.get("message", ""))[:300] if isinstance(data, dict) else ""
