"""Fixtures for the WordPress sync tests: the fake site over real HTTP, and sources pointing at it."""

import pytest

from wordpress.fake import FakeWordPress
from wordpress.models import SourceForm, WordPressSource


@pytest.fixture
def fake_wp():
    site = FakeWordPress(forms={"3": 12, "7": 5}, seed=7)
    site.start()
    yield site
    site.stop()


@pytest.fixture
def fast_retries(settings, monkeypatch):
    """Backoff waits are recorded instead of slept; timeouts short."""
    waits = []
    monkeypatch.setattr("wordpress.client.sleep", waits.append)
    settings.WORDPRESS_READ_TIMEOUT = 1
    settings.WORDPRESS_BACKOFF_CAP = 30
    return waits


@pytest.fixture
def make_source(brands):
    def make(site, shape="collection", name=None, forms=(("3", "intralog"), ("7", "intrapal")), **extra):
        source = WordPressSource.objects.create(
            name=name or f"Sitio {shape}",
            slug=(name or f"sitio-{shape}").lower().replace(" ", "-"),
            shape=shape,
            url=site.url_for(shape),
            username=site.username,
            app_password=site.password,
            page_size=extra.pop("page_size", 5),
            **extra,
        )
        for form_id, brand in forms:
            SourceForm.objects.create(source=source, form_id=form_id, brand=brands[brand])
        return source

    return make
