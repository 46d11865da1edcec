"""Benchmarks: production-like (DEBUG off, real templates) on a local PostgreSQL, no TLS redirect."""

from .base import *  # noqa: F403

SECRET_KEY = "bench-only-secret-key-not-used-anywhere-else-0123456789abcdef"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
