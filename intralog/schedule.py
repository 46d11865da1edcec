"""The periodic job schedule, loaded by ``manage.py rqcron intralog.schedule`` (see ``make worker``).

Each feature registers its periodic jobs here with ``rq.cron.register``.
"""

from django.conf import settings
from rq import cron

from alerts import jobs as alert_jobs
from api.jobs import purge_idempotency_records
from conversations import jobs as conversation_jobs
from core import once
from crm.jobs import purge_expired_invitations
from retention.jobs import apply_retention
from webhooks import jobs as webhook_jobs
from wordpress.jobs import periodic_tick as wordpress_periodic_tick

cron.register(purge_expired_invitations, queue_name="low", cron="17 * * * *")
cron.register(wordpress_periodic_tick, queue_name="low", interval=60)
cron.register(alert_jobs.check_breaches, queue_name="default", interval=60)
cron.register(alert_jobs.sweep, queue_name="default", interval=60)
# Follow-up reminders: a reminder goes out at most one interval (plus a delivery) after it is due.
cron.register(
    alert_jobs.remind_follow_ups, queue_name=settings.ALERTS_QUEUE, interval=settings.ALERTS_REMINDER_SECONDS
)
cron.register(alert_jobs.send_digests, queue_name="low", cron=settings.ALERTS_DIGEST_CRON)
# WhatsApp webhook bodies kept but not read (the queue was down when they came): read within a minute or two.
cron.register(conversation_jobs.process_pending_webhooks, queue_name="default", interval=60)
# Retention (Settings → Data retention): once a night, when the CRM is quiet.
cron.register(apply_retention, queue_name="low", cron="40 3 * * *")
# WhatsApp messages to leads: retries after passing errors, sends whose job never ran, sends a stopped worker
# left "sending" (CONVERSATIONS_RETRY_BASE_SECONDS, 15 s, is the first retry's wait).
cron.register(conversation_jobs.resume_sending, queue_name="high", interval=15)
# The brands' sales mailboxes, read for replies (each mail once, by Message-ID, from a UID checkpoint).
cron.register(
    conversation_jobs.read_mailboxes, queue_name="default", interval=settings.CONVERSATIONS_MAILBOX_SECONDS
)
# Outbound webhooks: retries when due and anything a lost wake-up left (a commit queues a run at once).
cron.register(webhook_jobs.deliver_due, queue_name="default", interval=15)
cron.register(webhook_jobs.purge_delivered, queue_name="low", cron="50 3 * * *")
# The API's Idempotency-Keys, kept API_IDEMPOTENCY_KEEP_DAYS.
cron.register(purge_idempotency_records, queue_name="low", cron="55 3 * * *")
# Keys of POSTs carried out once (core.once), forgotten when past their time.
cron.register(once.purge_expired, queue_name="low", cron="57 3 * * *")
