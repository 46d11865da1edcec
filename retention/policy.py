"""What the retention settings make due: per table, the rows a run would change and how it changes them.

Each ``Target`` names a table, the condition of its due rows (a ``Q`` for a given moment and settings)
and what a run does to them: blank fields with one UPDATE per id window, or anonymise leads
(``services.anonymise_leads``). A dry run counts the due rows; a run changes exactly those rows.
"""

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from conversations.models import WebhookDelivery as WhatsAppWebhook
from crm.models import Lead, Stage
from forms_builder.models import LeadFormSubmission
from wordpress.models import Submission
from wordpress.models import WebhookDelivery as WordPressWebhook

from .models import RetentionSettings
from .services import has_personal_data

ANONYMISE = "anonymise"


@dataclass(frozen=True)
class Target:
    """One table the retention settings reach: ``key`` (counts are logged under it), a label, the model,
    the due rows' condition (None: the settings leave this table alone) and the new values of a due row
    (``ANONYMISE``: the lead is anonymised)."""

    key: str
    label: StrOrPromise
    model: type[models.Model]
    due: Callable[[RetentionSettings, datetime], Q | None]
    values: dict[str, Any] | str


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` that many calendar months earlier (the day clamped to the month's length)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _closed_leads(stage: str, months: int | None, now: datetime) -> Q | None:
    if not months:
        return None
    return Q(status__stage=stage, status_changed_at__lt=months_before(now, months)) & has_personal_data()


def leads_to_anonymise(settings: RetentionSettings, now: datetime) -> Q | None:
    """The leads a run anonymises (junk or lost long enough, with personal data left), or None."""
    conditions = [
        condition
        for condition in (
            _closed_leads(Stage.JUNK, settings.junk_months, now),
            _closed_leads(Stage.LOST, settings.lost_months, now),
        )
        if condition is not None
    ]
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


def _aged(field: str, condition: Q, lead: str | None) -> Callable[[RetentionSettings, datetime], Q | None]:
    """Rows older than the payload period matching ``condition``. Anonymising runs first and clears the
    raw records of its leads, so rows of those leads (``lead``: the path to the lead) are left to it."""

    def due(settings: RetentionSettings, now: datetime) -> Q | None:
        if not settings.payload_days:
            return None
        aged = Q(**{f"{field}__lt": now - timedelta(days=settings.payload_days)}) & condition
        anonymised = leads_to_anonymise(settings, now)
        if anonymised is None or lead is None:
            return aged
        if lead == "pk":
            return aged & ~anonymised
        return aged & ~Q(**{f"{lead}__in": Lead.objects.filter(anonymised).values("pk")})

    return due


TARGETS: tuple[Target, ...] = (
    # Anonymising first: the raw records of its leads are cleared with them.
    Target(
        "junk_leads",
        _("Junk leads anonymised"),
        Lead,
        lambda settings, now: _closed_leads(Stage.JUNK, settings.junk_months, now),
        ANONYMISE,
    ),
    Target(
        "lost_leads",
        _("Lost leads anonymised"),
        Lead,
        lambda settings, now: _closed_leads(Stage.LOST, settings.lost_months, now),
        ANONYMISE,
    ),
    Target(
        "lead_payloads",
        _("Lead raw payloads cleared"),
        Lead,
        _aged("received_at", ~Q(raw_payload={}), "pk"),
        {"raw_payload": {}},
    ),
    Target(
        "wordpress_submissions",
        _("WordPress submissions cleared"),
        Submission,
        _aged(
            "received_at",
            Q(state__in=[Submission.State.STORED, Submission.State.DISMISSED]) & ~Q(payload={}),
            "lead",
        ),
        {"payload": {}},
    ),
    Target(
        "wordpress_webhooks",
        _("WordPress webhook bodies cleared"),
        WordPressWebhook,
        _aged("received_at", Q(state=WordPressWebhook.State.PROCESSED) & ~Q(body=b""), None),
        {"body": b""},
    ),
    Target(
        "whatsapp_webhooks",
        _("WhatsApp webhook bodies cleared"),
        WhatsAppWebhook,
        _aged(
            "received_at",
            Q(state__in=[WhatsAppWebhook.State.PROCESSED, WhatsAppWebhook.State.IGNORED]) & ~Q(body=b""),
            None,
        ),
        {"body": b""},
    ),
    Target(
        "form_submissions",
        _("Lead form submissions cleared"),
        LeadFormSubmission,
        _aged("submit_time", Q(lead__isnull=False) & ~Q(form_data={}), "lead"),
        {"form_data": {}},
    ),
)
