import pytest
from django.core.cache import cache

from dashboards.models import DashboardSettings


@pytest.fixture(autouse=True)
def fresh_settings_cache():
    """Each dashboards test reads the settings it saved, not another test's cached copy."""
    cache.delete(DashboardSettings.cache_key())
    yield
    cache.delete(DashboardSettings.cache_key())
