"""What admins and jobs do with webhooks: the delivery run, pausing with an email to the admins, resending,
resuming, rotating a secret and sending a test event."""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.jobs import enqueue
from crm.models import Role, User

from . import outbox, sending
from .models import TEST_EVENT, Delivery, OutboxEvent, Subscription, new_secret

logger = logging.getLogger(__name__)


def deliver_due(budget_seconds: float | None = None) -> int:
    """Send what is due, batch after batch, for at most ``budget_seconds``; when time runs out with work
    left, the next run is queued at once. Returns how many deliveries were attempted."""
    budget = settings.WEBHOOKS_RUN_SECONDS if budget_seconds is None else budget_seconds
    started = time.monotonic()
    sending.release_stale(timezone.now())
    attempted = 0
    while True:
        count = sending.run_once(alert_admins_after_commit)
        attempted += count
        if count == 0:
            return attempted
        if time.monotonic() - started >= budget:
            enqueue(outbox.DELIVER_JOB)
            return attempted


def purge_delivered(now: datetime | None = None) -> int:
    """Forget events older than ``WEBHOOKS_KEEP_DAYS`` whose deliveries all went out (with their log);
    returns how many events."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOKS_KEEP_DAYS)
    waiting = Delivery.objects.exclude(status=Delivery.Status.DELIVERED).values("event_id")
    old = OutboxEvent.objects.filter(occurred_at__lt=cutoff).exclude(pk__in=waiting)
    deleted, by_model = old.delete()
    return by_model.get(OutboxEvent._meta.label, 0)


def admin_emails() -> list[str]:
    return list(
        User.objects.filter(role=Role.ADMIN, is_active=True).exclude(email="").values_list("email", flat=True)
    )


def alert_admins_after_commit(subscription: Subscription) -> None:
    """Email the admins that ``subscription`` was paused, once the pause is stored."""
    name, reason, pk = subscription.name, subscription.pause_reason, subscription.pk
    transaction.on_commit(lambda: alert_admins(pk, name, reason), robust=True)


def alert_admins(pk: int, name: str, reason: str) -> None:
    recipients = admin_emails()
    if not recipients:
        logger.warning("Webhook subscription %s paused and no admin has an email address.", pk)
        return
    link = settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse("webhooks_subscription:edit", args=[pk])
    subject = _("Webhook “%(name)s” paused after repeated failures") % {"name": name}
    body = _(
        "The webhook subscription “%(name)s” kept failing and was paused; its events are kept and are sent "
        "when it is resumed.\n\nLast error: %(reason)s\n\nResume it here: %(link)s"
    ) % {"name": name, "reason": reason or "-", "link": link}
    send_mail(subject, body, None, recipients)


def resend(delivery: Delivery) -> bool:
    """Queue ``delivery`` again now, under its same delivery id; False while it is being sent."""
    with transaction.atomic():
        updated = (
            Delivery.objects.filter(pk=delivery.pk)
            .exclude(status=Delivery.Status.SENDING)
            .update(status=Delivery.Status.PENDING, next_attempt_at=None, resend_requested=True)
        )
        Subscription.objects.filter(pk=delivery.subscription_id).update(blocked_until=None)
        if updated:
            outbox.wake_after_commit()
    return bool(updated)


def resume(subscription: Subscription) -> None:
    """Unpause: its waiting deliveries go out from now."""
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(
            paused_at=None, pause_reason="", consecutive_failures=0, failing_since=None, blocked_until=None
        )
        outbox.wake_after_commit()
    subscription.refresh_from_db()


def rotate_secret(subscription: Subscription) -> str:
    """A new signing secret, returned to be shown once; the old one stops at once."""
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret"])
    return subscription.secret


def send_test(subscription: Subscription, now: datetime | None = None) -> Delivery:
    """Queue a ``webhook.test`` delivery to this subscription alone."""
    with transaction.atomic():
        event = OutboxEvent.objects.create(
            event_type=TEST_EVENT,
            occurred_at=now or timezone.now(),
            payload={"lead": None, "data": {"test": True, "subscription": subscription.name}},
        )
        delivery = Delivery.objects.create(event=event, subscription=subscription)
        outbox.wake_after_commit()
    return delivery
