"""Test run: the embedded default unless DATABASE_URL / REDIS_URL say otherwise."""

import os

from .base import *  # noqa: F403

SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-0123456789abcdef"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WAGTAILADMIN_BASE_URL = "http://testserver"
SITE_LANGUAGE_CODE = "en"  # the suite reads the public site in English; tests of the site language set it
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

# Under pytest-xdist each worker gets its own Redis database (queues, cache and job results), and the
# processes a test starts (a worker, a sync) inherit it.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _XDIST_WORKER.startswith("gw"):
    _base, _, _database = REDIS_URL.rpartition("/")
    REDIS_URL = f"{_base}/{int(_database or 0) + 1 + int(_XDIST_WORKER[2:])}"
    os.environ["REDIS_URL"] = REDIS_URL
    for _queue in RQ_QUEUES.values():
        _queue["URL"] = REDIS_URL
    CACHES["default"]["LOCATION"] = REDIS_URL
