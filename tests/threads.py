"""Run a call in a thread with its own database connections, for tests of concurrent writers."""

import threading

from django.db import connections


def in_thread(func, *args, **kwargs):
    """Start ``func(*args, **kwargs)`` in a thread; returns the thread and a dict that gets ``value`` or ``error``."""
    result = {}

    def target():
        try:
            result["value"] = func(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - reported to the test
            result["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, result
