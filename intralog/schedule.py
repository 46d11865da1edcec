"""The periodic job schedule, loaded by ``manage.py rqcron intralog.schedule`` (see ``make worker``).

Each feature registers its periodic jobs here with ``rq.cron.register``.
"""

from django.conf import settings
from rq import cron

from alerts import jobs as alert_jobs
from crm.jobs import purge_expired_invitations
from wordpress.jobs import periodic_tick as wordpress_periodic_tick

cron.register(purge_expired_invitations, queue_name="low", cron="17 * * * *")
cron.register(wordpress_periodic_tick, queue_name="low", interval=60)
cron.register(alert_jobs.check_breaches, queue_name="default", interval=60)
cron.register(alert_jobs.sweep, queue_name="default", interval=60)
cron.register(alert_jobs.send_digests, queue_name="low", cron=settings.ALERTS_DIGEST_CRON)
