"""/healthz and /readyz: JSON, cheap, no personal data, 200 or 503, open without a sign-in or second step."""

import json
import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import fakeredis
import pytest
from django.db import OperationalError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse
from django.utils import timezone
from rq import Worker
from rq.cron import CronScheduler

from crm import intake
from crm.models import Role
from ops import health
from wordpress.models import WebhookDelivery, WordPressSource

ROOT = Path(__file__).resolve().parents[2]
PERSONAL = "ana.personal@example.com"


@pytest.fixture(autouse=True)
def _fresh_migration_state():
    health.migrations_state.reset()
    yield
    health.migrations_state.reset()


@pytest.fixture(autouse=True)
def _live_worker_and_scheduler(settings):
    """With REDIS_URL, a worker for every queue and a cron scheduler registered as ``make worker`` would;
    embedded there is nothing to register."""
    conn = health.redis_connection()
    if conn is None:
        yield
        return
    suffix = secrets.token_hex(4)
    worker = Worker(list(settings.JOB_QUEUES), connection=conn, name=f"ops-test-{suffix}")
    cron = CronScheduler(connection=conn, name=f"ops-test-{suffix}")
    worker.register_birth()
    cron.register_birth()
    yield
    worker.register_death()
    cron.register_death()


def readyz(client):
    response = client.get(reverse("ops_readyz"))
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response, response.json()


def test_healthz_answers_without_touching_the_database(client):
    """Not marked for the database: any query would raise."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_is_ready_on_a_migrated_database_and_cheap(client, django_assert_num_queries):
    response, body = readyz(client)
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "database",
        "migrations",
        "wordpress",
        "outbox",
        "redis",
        "workers",
        "scheduler",
    }
    assert body["checks"]["migrations"] == {"status": "ok", "pending": 0}
    if not os.environ.get("REDIS_URL"):
        for name in ("redis", "workers", "scheduler"):
            assert body["checks"][name] == {"status": "ok", "mode": "embedded"}
    # The migration graph is looked at once; afterwards: SELECT 1, one source count, four backlog counts.
    with django_assert_num_queries(6):
        assert client.get("/readyz").status_code in (200, 503)


@pytest.mark.django_db
def test_readyz_needs_no_second_step(client, make_user):
    """An admin who has signed in with the password but owes the code is not redirected."""
    admin = make_user("owes-code", Role.ADMIN, ("intralog", "intrapal"))
    client.force_login(admin)
    assert client.get(reverse("wagtailadmin_home")).status_code == 302
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_failing_wordpress_source_makes_it_unready_without_saying_who(client, brands, settings):
    intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name="Ana", email=PERSONAL))
    WordPressSource.objects.create(
        name="Sitio",
        slug="sitio",
        shape="legacy",
        url="http://127.0.0.1:9/forms",
        health=WordPressSource.Health.FAILING,
        last_error=f"Lead {PERSONAL} could not be read",
    )
    WordPressSource.objects.create(
        name="Apagado",
        slug="apagado",
        shape="legacy",
        url="http://127.0.0.1:9/forms",
        enabled=False,
        health=WordPressSource.Health.CREDENTIALS_INVALID,
    )
    response, body = readyz(client)
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["wordpress"] == {"status": "fail", "sources": 1, "failing": 1}
    assert PERSONAL not in response.content.decode() and "Sitio" not in response.content.decode()

    settings.READYZ_IGNORE = ["wordpress"]
    response, body = readyz(client)
    assert response.status_code == 200
    assert body["checks"]["wordpress"]["status"] == "fail"


@pytest.mark.django_db
def test_webhook_bodies_waiting_too_long_make_it_unready(client, settings):
    settings.HEALTH_BACKLOG_MINUTES = 15
    source = WordPressSource.objects.create(
        name="Sitio", slug="sitio", shape="legacy", url="http://127.0.0.1:9/forms"
    )
    fresh = WebhookDelivery.objects.create(source=source, body=b"{}", body_sha256="a", authenticated_by="t")
    assert readyz(client)[0].status_code == 200
    WebhookDelivery.objects.filter(pk=fresh.pk).update(received_at=timezone.now() - timedelta(minutes=20))
    response, body = readyz(client)
    assert response.status_code == 503
    assert body["checks"]["outbox"] == {
        "status": "fail",
        "older_than_minutes_waiting": {
            "alerts": 0,
            "wordpress_webhooks": 1,
            "whatsapp_webhooks": 0,
            "outbound_webhooks": 0,
        },
    }
    WebhookDelivery.objects.filter(pk=fresh.pk).update(state=WebhookDelivery.State.PROCESSED)
    assert readyz(client)[0].status_code == 200


@pytest.mark.django_db
def test_an_unapplied_migration_makes_it_unready(client):
    (newest,) = MigrationLoader(connection).graph.leaf_nodes("crm")
    MigrationRecorder(connection).record_unapplied(*newest)
    response, body = readyz(client)
    assert response.status_code == 503
    assert body["checks"]["migrations"] == {"status": "fail", "pending": 1}


@pytest.mark.django_db
def test_database_down_fails_and_skips_what_needs_it(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response, body = readyz(client)
    assert response.status_code == 503
    assert body["checks"]["database"] == {"status": "fail", "error": "OperationalError"}
    for name in ("migrations", "wordpress", "outbox"):
        assert body["checks"][name] == {"status": "skipped"}


@pytest.mark.django_db
def test_redis_unreachable_fails_and_skips_workers(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused
    response, body = readyz(client)
    assert response.status_code == 503
    assert body["checks"]["redis"]["status"] == "fail"
    assert body["checks"]["workers"] == {"status": "skipped"}
    assert body["checks"]["scheduler"] == {"status": "skipped"}


@pytest.fixture
def redis_conn():
    """The configured Redis when REDIS_URL is set (a database of its own for these keys), otherwise an
    in-memory one: the same commands either way."""
    url = os.environ.get("REDIS_URL")
    if not url:
        yield fakeredis.FakeRedis()
        return
    from urllib.parse import urlsplit, urlunsplit

    from redis import Redis

    conn = Redis.from_url(urlunsplit(urlsplit(url)._replace(path="/15")))
    conn.flushdb()
    yield conn
    conn.flushdb()


def test_workers_must_serve_every_queue(redis_conn, settings):
    settings.JOB_QUEUES = ("high", "default", "low")
    check = health.workers(redis_conn)
    assert check.failed and check.detail["queues"] == {"high": 0, "default": 0, "low": 0}

    partial = Worker(["high", "default"], connection=redis_conn, name="partial")
    partial.register_birth()
    check = health.workers(redis_conn)
    assert check.failed and check.detail["queues"] == {"high": 1, "default": 1, "low": 0}

    full = Worker(["high", "default", "low"], connection=redis_conn, name="full")
    full.register_birth()
    check = health.workers(redis_conn)
    assert not check.failed
    assert check.detail == {"alive": 2, "queues": {"high": 2, "default": 2, "low": 1}}

    redis_conn.delete(full.key)  # killed: its heartbeat key expired, the registry still names it
    assert health.workers(redis_conn).failed


def test_scheduler_must_have_beaten_recently(redis_conn):
    check = health.scheduler(redis_conn, stale_seconds=180)
    assert check.failed and check.detail == {"alive": 0}

    cron = CronScheduler(connection=redis_conn, name="cron-1")
    cron.register_birth()
    check = health.scheduler(redis_conn, stale_seconds=180)
    assert not check.failed and check.detail["alive"] == 1

    redis_conn.zadd("rq:cron_schedulers", {"cron-1": time.time() - 600})
    check = health.scheduler(redis_conn, stale_seconds=180)
    assert check.failed and check.detail == {"alive": 0, "last_beat_seconds_ago": 600}


def test_embedded_mode_says_so():
    for check in (health.redis(None), health.workers(None), health.scheduler(None)):
        assert check.as_dict() == {"status": "ok", "mode": "embedded"}


def test_production_probes_are_not_redirected_to_https(tmp_path):
    """Proxies and systemd probe over plain HTTP on the loopback; every other path goes to HTTPS."""
    script = (
        "import django, json; django.setup();"
        "from django.test import Client; c = Client();"
        "print(json.dumps([c.get(p).status_code for p in ('/healthz', '/readyz', '/admin/')]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "intralog.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        "ALLOWED_HOSTS": "testserver",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        200,
        503,
        301,
    ]  # an empty database: not ready


@pytest.mark.django_db
def test_outbound_webhook_deliveries_waiting_too_long_make_it_unready(client, settings):
    from webhooks.models import Delivery, EventType, OutboxEvent, Subscription

    settings.HEALTH_BACKLOG_MINUTES = 15
    subscription = Subscription.objects.create(name="ERP", url="http://127.0.0.1:9/hook", secret="s")
    event = OutboxEvent.objects.create(event_type=EventType.LEAD_CREATED, occurred_at=timezone.now())
    delivery = Delivery.objects.create(event=event, subscription=subscription, next_attempt_at=timezone.now())
    assert readyz(client)[0].status_code == 200

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=20))
    response, body = readyz(client)
    assert response.status_code == 503
    assert body["checks"]["outbox"]["older_than_minutes_waiting"]["outbound_webhooks"] == 1

    # A paused subscription's deliveries wait for the admin, not for the workers.
    Subscription.objects.filter(pk=subscription.pk).update(paused_at=timezone.now())
    assert readyz(client)[0].status_code == 200
