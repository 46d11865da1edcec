"""Test run: the embedded default unless DATABASE_URL / REDIS_URL say otherwise."""

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
