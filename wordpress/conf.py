"""Tunables of the WordPress sync; each can be overridden by a Django setting of the same name."""

from django.conf import settings

DEFAULTS = {
    "WORDPRESS_CONNECT_TIMEOUT": 5,
    "WORDPRESS_READ_TIMEOUT": 30,
    "WORDPRESS_MAX_ATTEMPTS": 4,
    "WORDPRESS_BACKOFF_BASE": 1.0,
    "WORDPRESS_BACKOFF_CAP": 60.0,
    "WORDPRESS_LOCK_SECONDS": 600,
    "WORDPRESS_SYNC_PROCESSES": None,
    "WORDPRESS_WEBHOOK_MAX_BYTES": 1024 * 1024,
    "WORDPRESS_WEBHOOK_TOLERANCE_SECONDS": 300,
    "WORDPRESS_WEBHOOK_REPLAY_SECONDS": 600,
    "WORDPRESS_SWEEP_AFTER_SECONDS": 60,
    # A webhook job reads up to this many of its source's waiting bodies together.
    "WORDPRESS_WEBHOOK_BATCH": 100,
    # Legacy sources list active rows only: every row is compared with the CRM this often.
    "WORDPRESS_COMPLETE_RESCAN_HOURS": 6,
}


def setting(name):
    return getattr(settings, name, DEFAULTS[name])
