"""``make run`` (``manage.py rundev``) serves the demo WordPress site, so the demo source syncs from the start."""

import socket
from io import StringIO

import pytest
from django.core.management import call_command

from core import jobs
from crm.models import Lead
from intralog.management.commands import rundev
from wordpress import demo
from wordpress.models import SyncRun, WordPressSource
from wordpress.sync import sync_source

pytestmark = pytest.mark.django_db


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo_source(brands):
    """The seeded demo source, moved to a free port so parallel runs do not collide on 8765."""
    demo.seed(StringIO(), {})
    source = WordPressSource.objects.get(slug=demo.DEMO_SLUG)
    source.url = source.url.replace(f":{demo.DEMO_PORT}/", f":{free_port()}/")
    source.save()
    return source


def test_dev_services_serve_the_demo_site_and_the_demo_source_syncs(demo_source):
    out = StringIO()
    with rundev.dev_services(out, embedded_jobs=False) as site:
        assert site is not None and f"Demo WordPress site on {site.url}" in out.getvalue()
        assert demo_source.url.startswith(site.url)
        run = sync_source(demo_source)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    expected = len(demo.DEMO_FORMS) * demo.DEMO_SUBMISSIONS_PER_FORM
    assert run.fetched == expected
    assert Lead.objects.filter(external_source=demo_source.external_key).count() == expected
    assert site.server is None  # stopped with the block

    again = sync_source(demo_source)
    assert again.status == SyncRun.Status.FAILED  # nothing serves the demo site any more


def test_rundev_serves_the_demo_site_while_the_server_runs(demo_source, monkeypatch):
    seen = {}
    workers = []

    def runserver(name, addrport, use_reloader):
        seen["call"] = (name, addrport, use_reloader)
        seen["run"] = sync_source(demo_source)

    monkeypatch.setattr(rundev, "call_command", runserver)
    monkeypatch.setattr(jobs, "run_embedded_worker", workers.append)
    out = StringIO()
    call_command("rundev", "127.0.0.1:8123", "--noreload", stdout=out)
    assert seen["call"] == ("runserver", "127.0.0.1:8123", False)
    assert seen["run"].status == SyncRun.Status.SUCCEEDED, seen["run"].error
    assert "Demo WordPress site on http://127.0.0.1:" in out.getvalue()
    assert len(workers) == (1 if jobs.is_embedded() else 0)
    assert all(stop.is_set() for stop in workers)


def test_rundev_without_the_demo_site(demo_source, monkeypatch):
    seen = {}
    monkeypatch.setattr(
        rundev, "call_command", lambda *args, **kwargs: seen.update(run=sync_source(demo_source))
    )
    monkeypatch.setattr(jobs, "run_embedded_worker", lambda stop: None)
    call_command("rundev", "--noreload", "--no-demo-wordpress", stdout=StringIO())
    assert seen["run"].status == SyncRun.Status.FAILED


def test_a_taken_port_or_no_demo_source_starts_nothing(demo_source):
    port = int(demo_source.url.split(":")[2].split("/")[0])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        out = StringIO()
        with rundev.dev_services(out, embedded_jobs=False) as site:
            assert site is None
        assert out.getvalue() == ""
    demo_source.delete()
    assert demo.serve_demo_site() is None
