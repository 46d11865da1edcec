"""Everything the CRM holds about a person, table by table, as JSON-ready sections (the right of access)."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from alerts.models import Notification, WhatsAppContact
from conversations.models import Conversation, Message
from conversations.models import WebhookDelivery as MessageWebhook
from crm.models import FollowUp, Lead, LeadEvent
from forms_builder.models import LeadFormSubmission, SubmissionBehaviour
from wordpress.models import Submission, WebhookDelivery

from .subjects import Person, bodies_about, wordpress_sources

Section = list[dict[str, Any]]

TITLES = {
    "leads": _("Leads"),
    "lead_events": _("Lead history (notes, contact attempts, changes)"),
    "follow_ups": _("Follow-ups"),
    "wordpress_submissions": _("WordPress submissions"),
    "wordpress_webhook_bodies": _("WordPress webhook bodies"),
    "form_submissions": _("Form submissions"),
    "form_behaviour": _("Form visits"),
    "conversations": _("Conversations"),
    "messages": _("Messages"),
    "message_webhook_bodies": _("WhatsApp webhook bodies"),
    "notifications": _("Notifications to staff"),
    "whatsapp_contacts": _("Last WhatsApp message received"),
}


def _rows(queryset: QuerySet[Any], exclude: tuple[str, ...] = ()) -> Section:
    """Each row's columns (foreign keys as their ids), binary bodies as text."""
    model: type[Model] = queryset.model
    names = [f.attname for f in model._meta.concrete_fields if f.attname not in exclude]
    rows = []
    for values in queryset.order_by("pk").values(*names):
        rows.append(
            {
                key: bytes(value).decode("utf-8", "replace")
                if isinstance(value, (bytes, memoryview))
                else value
                for key, value in values.items()
            }
        )
    return rows


def wordpress_submissions(person: Person) -> QuerySet[Submission]:
    match = Q(lead_id__in=person.lead_ids)
    for source, form, key in person.refs:
        if source.startswith("wp-") and source[3:].isdigit():
            match |= Q(source_id=int(source[3:]), form_id=form, external_id=key)
    return Submission.objects.filter(match)


def wordpress_webhooks(person: Person) -> list[WebhookDelivery]:
    window = person.window()
    sources = wordpress_sources(person.refs)
    if window is None or not sources:
        return []
    candidates = WebhookDelivery.objects.filter(source_id__in=sources, received_at__range=window)
    return list(bodies_about(candidates.only("pk", "body"), person))


def message_webhooks(person: Person) -> list[MessageWebhook]:
    times = Message.objects.filter(lead_id__in=person.lead_ids).values_list("created_at", flat=True)
    moments = [moment for moment in times if moment]
    if person.first_at:
        moments.append(person.first_at)
    if not moments or not person.phones:
        return []
    window = (min(moments) - Person.window_margin, max(moments) + Person.window_margin)
    candidates = MessageWebhook.objects.filter(received_at__range=window)
    return list(bodies_about(candidates.only("pk", "body"), person))


def collect(person: Person) -> dict[str, Section]:
    """The person's data in every table that holds it, section by section."""
    ids = person.lead_ids
    submissions = LeadFormSubmission.objects.filter(lead_id__in=ids)
    return {
        "leads": _rows(Lead.objects.filter(pk__in=ids), exclude=("search_text",)),
        "lead_events": _rows(LeadEvent.objects.filter(lead_id__in=ids)),
        "follow_ups": _rows(FollowUp.objects.filter(lead_id__in=ids)),
        "wordpress_submissions": _rows(wordpress_submissions(person)),
        "wordpress_webhook_bodies": _rows(
            WebhookDelivery.objects.filter(pk__in=[row.pk for row in wordpress_webhooks(person)])
        ),
        "form_submissions": _rows(submissions),
        "form_behaviour": _rows(SubmissionBehaviour.objects.filter(submission__in=submissions)),
        "conversations": _rows(Conversation.objects.filter(lead_id__in=ids)),
        "messages": _rows(Message.objects.filter(lead_id__in=ids)),
        "message_webhook_bodies": _rows(
            MessageWebhook.objects.filter(pk__in=[row.pk for row in message_webhooks(person)])
        ),
        "notifications": _rows(Notification.objects.filter(lead_id__in=ids)),
        "whatsapp_contacts": _rows(WhatsAppContact.objects.filter(phone__in=sorted(person.phones))),
    }


def as_json(sections: dict[str, Section]) -> str:
    return json.dumps(sections, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


def readable(sections: dict[str, Section]) -> list[tuple[str, list[list[tuple[str, str]]]]]:
    """The sections for the readable document: ``(section, rows of (column, text))``, empty cells left out."""
    document = []
    for name, rows in sections.items():
        shown = []
        for row in rows:
            cells = []
            for key, value in row.items():
                if value in (None, "", {}, []):
                    continue
                text = (
                    value
                    if isinstance(value, str)
                    else json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
                )
                cells.append((key, text))
            shown.append(cells)
        document.append((str(TITLES.get(name, name)), shown))
    return document
