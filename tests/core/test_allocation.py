"""``core.allocation.fewer_collections``: the collector's thresholds raised for a block, then put back."""

import gc

import pytest

from core.allocation import fewer_collections


@pytest.fixture
def thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_the_young_threshold_is_raised_in_the_block_and_put_back_after(thresholds):
    with fewer_collections(3000):
        assert gc.get_threshold() == (3000, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_higher_threshold_is_never_lowered_and_an_error_still_restores(thresholds):
    gc.set_threshold(50_000, 10, 10)
    with fewer_collections(3000):
        assert gc.get_threshold() == (50_000, 10, 10)
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError), fewer_collections(3000):
        raise RuntimeError
    assert gc.get_threshold() == (700, 10, 10)
