"""The periodic job path end to end: the cron schedule enqueues the invitation purge, a worker runs it.

Embedded (no REDIS_URL) the queue lives in the in-process fake Redis; with REDIS_URL it is a real RQ
queue in that Redis database. Either way a real rq ``SimpleWorker`` processes it in burst mode.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rq import SimpleWorker

from core import jobs
from crm import jobs as crm_jobs
from crm import people
from crm.models import Invitation, Role


@pytest.fixture
def invitations(admin_user, brands):
    valid = people.invite(admin_user, "valid@example.com", Role.EMPLOYEE, [brands["intralog"]])
    expired = people.invite(admin_user, "expired@example.com", Role.EMPLOYEE, [brands["intralog"]])
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return valid, expired


def purge_cron_job(scheduler):
    matches = [job for job in scheduler.get_jobs() if job.func is crm_jobs.purge_expired_invitations]
    assert len(matches) == 1, "the invitation purge is not in intralog.schedule"
    return matches[0]


def test_backend_matches_environment():
    assert jobs.is_embedded() == (not settings.REDIS_URL)


def test_schedule_enqueues_purge_and_worker_runs_it(low_queue, invitations):
    valid, expired = invitations
    scheduler = jobs.cron_scheduler()
    purge = purge_cron_job(scheduler)
    assert purge.queue_name == "low"

    for other in scheduler.get_jobs():
        if other is not purge:  # other features' periodic jobs are not under test here
            other.set_enqueue_time(timezone.now())
    assert jobs.run_due_periodic_jobs(scheduler) == []  # the hourly purge is not due yet
    assert low_queue.count == 0

    purge.next_enqueue_time -= timedelta(hours=1)  # an hour later the hourly purge is due
    assert jobs.run_due_periodic_jobs(scheduler) == [purge]
    assert low_queue.count == 1
    assert Invitation.objects.filter(pk=expired.pk).exists()  # enqueued, not yet run

    worker = SimpleWorker([low_queue], connection=low_queue.connection)
    assert worker.work(burst=True)
    assert low_queue.count == 0
    assert not Invitation.objects.filter(pk=expired.pk).exists()
    assert Invitation.objects.filter(pk=valid.pk).exists()
    assert low_queue.failed_job_registry.count == 0


def test_purge_keeps_used_invitations(invitations, employee):
    valid, expired = invitations
    Invitation.objects.filter(pk=expired.pk).update(accepted_at=timezone.now(), accepted_user=employee)
    assert people.purge_expired_invitations() == 0
    assert Invitation.objects.filter(pk=expired.pk).exists()


def test_enqueue_after_commit(admin_user, brands, django_capture_on_commit_callbacks, mailoutbox):
    """``invite`` queues its email; it goes out only once the transaction commits."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        people.invite(admin_user, "later@example.com", Role.EMPLOYEE, [brands["intralog"]])
    assert mailoutbox == []
    assert callbacks
    if jobs.is_embedded():
        for callback in callbacks:
            callback()
        assert [message.to for message in mailoutbox] == [["later@example.com"]]


def test_a_deployment_with_redis_never_loads_the_in_memory_redis():
    """fakeredis is the embedded mode's; a process with ``REDIS_URL`` does not import it (nor its memory)."""
    import os
    import subprocess
    import sys

    script = (
        "import sys, django; django.setup(); "
        "from core import jobs; jobs.connection('default'); "
        "import wordpress.sync, alerts.delivery; "
        "print('fakeredis' in sys.modules)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "intralog.settings.test",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"
