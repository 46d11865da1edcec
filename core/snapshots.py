"""A value read from the database and held in each process, rebuilt when any process publishes a new
version of it (a key in Django's cache), looked at every couple of seconds, and rebuilt at least every
few minutes whatever the cache says (a lost publication costs minutes, not forever)."""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.cache import cache

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ProcessSnapshot(Generic[T]):
    """``build()`` held in this process: ``get()`` returns it, ``invalidate()`` makes every process
    build it again (connect it to the signals of what it is built from)."""

    def __init__(
        self,
        version_key: str,
        build: Callable[[], T],
        recheck_seconds: float = 2,
        max_age_seconds: float = 300,
    ) -> None:
        self.version_key = version_key
        self.build = build
        self.recheck_seconds = recheck_seconds
        self.max_age_seconds = max_age_seconds
        self._lock = threading.Lock()
        self._held: tuple[T, object, float] | None = None
        self._checked_at = 0.0

    def get(self) -> T:
        now = time.monotonic()
        held = self._held
        if held is not None and now - self._checked_at < self.recheck_seconds:
            return held[0]
        version = self._version()
        if held is not None and held[1] == version and now - held[2] < self.max_age_seconds:
            self._checked_at = now
            return held[0]
        with self._lock:
            value = self.build()
            self._held, self._checked_at = (value, version, now), now
        return value

    def invalidate(self, **kwargs: Any) -> None:
        """Drop this process's value and publish a new version for the others (a signal receiver)."""
        self._held = None
        try:
            cache.set(self.version_key, time.time(), None)
        except Exception:  # noqa: BLE001 - a cache outage must not break the save that called this
            logger.warning("Could not publish a new version of %s.", self.version_key, exc_info=True)

    def _version(self) -> object:
        try:
            return cache.get(self.version_key)
        except Exception:  # noqa: BLE001 - without the cache, the value is rebuilt at its maximum age
            return None
