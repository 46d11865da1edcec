"""Erasing a person from the feature apps' tables: raw submissions and bodies, form records, messages,
notifications, customers' contact people. What is not personal (states, dates, channels, counts) stays for
the statistics."""

from __future__ import annotations

from collections import Counter

from django.db.models import Q

from alerts.models import Notification, WhatsAppContact
from conversations.models import Conversation, Message
from conversations.models import WebhookDelivery as MessageWebhook
from customers.models import Contact as CustomerContact
from forms_builder.models import LeadFormSubmission, SubmissionBehaviour
from wordpress.models import WebhookDelivery

from .export import message_webhooks, wordpress_submissions, wordpress_webhooks
from .subjects import Person


def erase_feature_tables(person: Person) -> Counter[str]:
    """Blank the person's data outside the lead tables; returns how many rows of each table changed.

    Call before ``crm.erasure.anonymise_leads`` (which blanks the contact details these are found by).
    """
    ids = person.lead_ids
    done: Counter[str] = Counter()
    done["wordpress_webhook_bodies"] = WebhookDelivery.objects.filter(
        pk__in=[row.pk for row in wordpress_webhooks(person)]
    ).update(body=b"", error="")
    done["message_webhook_bodies"] = MessageWebhook.objects.filter(
        pk__in=[row.pk for row in message_webhooks(person)]
    ).update(body=b"", reason="")
    done["wordpress_submissions"] = wordpress_submissions(person).update(payload={}, digest="", reason="")
    submissions = LeadFormSubmission.objects.filter(lead_id__in=ids)
    done["form_behaviour"] = SubmissionBehaviour.objects.filter(submission__in=submissions).update(
        referrer="", landing_page="", ip_prefix="", utm_term="", utm_content="", failed_fields=[]
    )
    done["form_submissions"] = submissions.update(form_data={})
    done["conversations"] = Conversation.objects.filter(lead_id__in=ids).update(address="")
    for message in Message.objects.filter(lead_id__in=ids).exclude(media_file="").only("pk", "media_file"):
        message.media_file.delete(save=False)
    done["messages"] = Message.objects.filter(lead_id__in=ids).update(
        body="", template_parameters=[], error="", media_id="", media_name="", media_file=""
    )
    done["whatsapp_contacts"] = WhatsAppContact.objects.filter(
        phone__in=[p for p in person.phones if p.startswith("+")]
    ).delete()[0]
    done["customer_contacts"] = CustomerContact.objects.filter(
        Q(email__in=sorted(person.emails))
        | Q(phone_e164__in=sorted(p for p in person.phones if p.startswith("+")))
    ).delete()[0]
    done["notifications"] = Notification.objects.filter(lead_id__in=ids).update(context={}, error="")
    return done
