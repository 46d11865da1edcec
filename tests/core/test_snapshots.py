"""A value held per process: built once, looked at again only after a while, rebuilt when another
process publishes a new version or when it is old."""

import pytest
from django.core.cache import cache

from core import snapshots
from core.snapshots import ProcessSnapshot


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(snapshots.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def built():
    cache.delete("tests:snapshot")
    return []


def snapshot(built, **kwargs):
    return ProcessSnapshot("tests:snapshot", lambda: built.append(len(built)) or len(built), **kwargs)


def test_built_once_then_held(clock, built):
    held = snapshot(built)
    assert held.get() == held.get() == 1
    clock[0] += 60
    assert held.get() == 1 and len(built) == 1


def test_another_process_publishing_a_version_is_seen_after_the_recheck(clock, built):
    mine, theirs = snapshot(built), snapshot(built)
    assert mine.get() == 1
    theirs.invalidate()
    assert mine.get() == 1, "not looked at again within the recheck"
    clock[0] += 2.5
    assert mine.get() == 2


def test_rebuilt_when_old_even_without_a_new_version(clock, built):
    held = snapshot(built, max_age_seconds=300)
    assert held.get() == 1
    clock[0] += 299
    assert held.get() == 1
    clock[0] += 2
    assert held.get() == 2


def test_a_cache_outage_neither_breaks_invalidating_nor_reading(clock, built, monkeypatch):
    held = snapshot(built)
    assert held.get() == 1

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(snapshots.cache, "set", down)
    monkeypatch.setattr(snapshots.cache, "get", down)
    held.invalidate()
    assert held.get() == 2, "this process's own value is dropped at once"
