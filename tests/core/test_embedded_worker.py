"""Without Redis, ``manage.py rundev`` runs the periodic schedule in-process: the same rq code path."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from core import jobs
from crm.models import Invitation, Role

pytestmark = pytest.mark.skipif(not jobs.is_embedded(), reason="the embedded worker is the no-Redis mode")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_embedded_worker_runs_due_periodic_jobs():
    expired = Invitation.objects.create(
        email="late@example.com", role=Role.EMPLOYEE, expires_at=timezone.now() - timedelta(hours=1)
    )
    valid = Invitation.objects.create(
        email="soon@example.com", role=Role.EMPLOYEE, expires_at=timezone.now() + timedelta(hours=1)
    )
    scheduler = jobs.cron_scheduler()
    for cron_job in scheduler.get_jobs():
        purge = cron_job.func_name.endswith("purge_expired_invitations")
        cron_job.latest_enqueue_time = timezone.now()
        cron_job.next_enqueue_time = timezone.now() + timedelta(seconds=-1 if purge else 3600)
    stop = threading.Event()
    worker = threading.Thread(
        target=jobs.run_embedded_worker, args=(stop,), kwargs={"max_sleep": 0.2, "scheduler": scheduler}
    )
    worker.start()
    try:
        for _ in range(100):
            if not Invitation.objects.filter(pk=expired.pk).exists():
                break
            stop.wait(0.1)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not Invitation.objects.filter(pk=expired.pk).exists()
    assert Invitation.objects.filter(pk=valid.pk).exists()
