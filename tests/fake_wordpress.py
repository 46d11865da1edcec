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


def run_queued_jobs(*names):
    """In embedded mode jobs ran at enqueue; with real Redis, run the queues once in this process."""
    from rq import SimpleWorker

    from core.jobs import get_queue, is_embedded

    if is_embedded():
        return
    queues = [get_queue(name) for name in (names or ("high", "default", "low"))]
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True)


__all__ = ["fake_wp", "fast_retries", "make_source", "run_queued_jobs"]
