"""Demo leads: generated history written in bulk, row for row what ``crm.intake`` and
``crm.services`` would have written.

Bulk insertion is a loader's privilege (like importing history); the rows match the service layer:
the same events in the same order, the same classification notes and tags, the lead's timing fields
taken from its events. Wagtail log entries are not written for demo history.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from taggit.models import Tag

from crm.classification import Classification
from crm.duplicates import duplicate_event
from crm.models import (
    Brand,
    Campaign,
    ClassificationRule,
    Lead,
    LeadEvent,
    PipelineStatus,
    Role,
    Service,
    Source,
    TaggedLead,
    User,
)
from crm.normalise import phone_to_e164
from crm.search import lead_search_text

from .generator import CLASSIFICATION_TAGS, DUPLICATE_TAG, LeadGenerator, event_data
from .people import ensure_people, seed_people

DEMO_SOURCE = "demo"
DEMO_SEED = 2026
DEFAULT_DEMO_LEADS = 5000
BATCH = 1000
# Seeded classification rules the generator's leads match, by the generator's rule key.
CLASSIFICATION_RULE_NAMES = {"job_seeker": "Job seeker or vendor", "spam": "Link spam"}
# The sales team the demo leads are spread over (besides the people seed's "employee"/"employee2"/"manager").
DEMO_SALES_TEAM = [
    ("lucia", Role.EMPLOYEE, "Lucía", "Benítez", ["intralog"]),
    ("diego", Role.EMPLOYEE, "Diego", "Ferreyra", ["intralog"]),
    ("sofia", Role.EMPLOYEE, "Sofía", "Quiroga", ["intrapal"]),
]
DEMO_EMPLOYEES = {"intralog": ["employee", "lucia", "diego"], "intrapal": ["employee2", "sofia"]}
DEMO_MANAGERS = {"intralog": ["manager"], "intrapal": ["manager"]}


class Catalogue:
    """Database ids for the generator's keys, and the converters from generated leads to model values."""

    def __init__(self):
        self.brands = dict(Brand.objects.values_list("code", "pk"))
        self.services = {
            (brand, name): pk for brand, name, pk in Service.objects.values_list("brand__code", "name", "pk")
        }
        self.sources = dict(Source.objects.values_list("key", "pk"))
        self.statuses = dict(PipelineStatus.objects.values_list("key", "pk"))
        self.campaigns = dict(Campaign.objects.values_list("name", "pk"))
        self.users = dict(User.objects.values_list("username", "pk"))
        rules = {rule.name: rule for rule in ClassificationRule.objects.filter(is_enabled=True)}
        self.rules = {key: rules.get(name) for key, name in CLASSIFICATION_RULE_NAMES.items()}
        self.reasons = {
            key: Classification(rules=[rule] if rule else []).reason for key, rule in self.rules.items()
        }
        self.reasons[None] = Classification().reason

    def lead_values(self, lead):
        """Field values (ids for relations) of a ``GeneratedLead``, for ``Lead(**values)`` or a COPY row."""
        values = self._lead_values(lead)
        values["search_text"] = lead_search_text(values)
        return values

    def _lead_values(self, lead):
        return {
            "contact_name": lead.contact_name,
            "company": lead.company,
            "email": lead.email,
            "phone": lead.phone,
            "phone_e164": lead.phone_e164,
            "location": lead.location,
            "service_id": self.services.get((lead.brand, lead.service)) if lead.service else None,
            "service_text": lead.service_text,
            "message": lead.message,
            "brand_id": self.brands[lead.brand],
            "source_id": self.sources.get(lead.source),
            "campaign_id": self.campaigns.get(lead.campaign) if lead.campaign else None,
            "utm_source": lead.utm_source,
            "utm_medium": lead.utm_medium,
            "utm_campaign": lead.utm_campaign,
            "utm_content": lead.utm_content,
            "external_source": lead.external_source,
            "external_form": lead.external_form,
            "external_id": lead.external_id,
            "raw_payload": lead.raw_payload,
            "status_id": self.statuses[lead.status],
            "assignee_id": self.users.get(lead.assignee) if lead.assignee else None,
            "priority": lead.priority,
            "classification_reason": self.reasons[self._rule_key(lead)],
            "skip_alerts": lead.skip_alerts,
            "created_by_id": self.users.get(lead.created_by) if lead.created_by else None,
            "management_note": lead.management_note,
            "submitted_at": lead.submitted_at,
            "received_at": lead.received_at,
            "first_contacted_at": lead.first_contacted_at,
            "assigned_at": lead.assigned_at,
            "status_changed_at": lead.status_changed_at,
            "last_activity_at": lead.last_activity_at,
        }

    @staticmethod
    def _rule_key(lead):
        classified = next(event for event in lead.events if event.kind == "classified")
        return classified.data["rule"]

    def event_values(self, event, lead_id, lead_ids):
        """Field values of a ``GeneratedEvent`` of lead ``lead_id``; ``lead_ids`` maps generator indexes to ids."""
        if event.kind == "classified" and "rule" in event.data:
            rule = self.rules.get(event.data["rule"]) if event.data["rule"] else None
            note = self.reasons[event.data["rule"]]
            data = {
                "rules": [rule.pk] if rule else [],
                "tags": list(CLASSIFICATION_TAGS.get(event.data["rule"], ())) if rule else [],
                "priority": rule.set_priority if rule else None,
                "skip_alerts": bool(rule and rule.skip_alerts),
            }
        elif event.kind == "classified" and "duplicate_of_index" in event.data:
            original = lead_ids[event.data["duplicate_of_index"]]
            repeat = duplicate_event(original)
            note, data = repeat["note"], repeat["data"]
        else:
            note, data = event_data(event, self.users)
        return {
            "lead_id": lead_id,
            "actor_id": self.users.get(event.actor) if event.actor else None,
            "kind": event.kind,
            "from_value": event.from_value,
            "to_value": event.to_value,
            "channel": event.channel,
            "outcome": event.outcome,
            "note": note,
            "data": data,
            "created_at": event.created_at,
        }


def ensure_sales_team():
    """The demo people the generated leads are assigned to and worked by (idempotent)."""
    seed_people()
    ensure_people(DEMO_SALES_TEAM)


def ensure_campaigns(generator):
    """The generator's campaigns, with their budget and spend so far (idempotent, by name)."""
    brands = dict(Brand.objects.values_list("code", "pk"))
    for row in generator.campaigns():
        values = {**row, "brand_id": brands.get(row["brand"])}
        del values["brand"]
        name = values.pop("name")
        Campaign.objects.get_or_create(name=name, defaults=values)


def team_generator(now=None, external_source=DEMO_SOURCE, seed=DEMO_SEED, employees=None, managers=None):
    return LeadGenerator(
        employees=employees or DEMO_EMPLOYEES,
        managers=managers or DEMO_MANAGERS,
        seed=seed,
        now=now or timezone.now(),
        external_source=external_source,
        phone_normaliser=phone_to_e164,
    )


def seed_demo_leads(target=DEFAULT_DEMO_LEADS, now=None, stdout=None):
    """Make sure ``target`` demo leads exist; add only the missing ones. Returns how many were added."""
    existing = set(Lead.objects.filter(external_source=DEMO_SOURCE).values_list("external_id", flat=True))
    if len(existing) >= target:
        return 0
    ensure_sales_team()
    generator = team_generator(now=now)
    ensure_campaigns(generator)
    catalogue = Catalogue()
    missing = [index for index in range(target + len(existing)) if str(index) not in existing]
    missing = missing[: target - len(existing)]
    with transaction.atomic():
        added = _insert(generator, catalogue, missing)
    if stdout is not None:
        stdout.write(f"Demo leads: added {added}, {len(existing) + added} in all.")
    return added


def _insert(generator, catalogue, indexes):
    generated = [generator.lead(index) for index in indexes]
    leads = [Lead(**catalogue.lead_values(lead)) for lead in generated]
    Lead.objects.bulk_create(leads, batch_size=BATCH)
    wanted = {lead.duplicate_of for lead in generated if lead.duplicate_of is not None}
    lead_ids = dict(
        Lead.objects.filter(external_source=DEMO_SOURCE, external_id__in=[str(index) for index in wanted])
        .values_list("external_id", "pk")
        .iterator()
    )
    lead_ids = {int(index): pk for index, pk in lead_ids.items()}
    lead_ids.update({lead.index: row.pk for lead, row in zip(generated, leads, strict=True)})

    duplicates = []
    for lead, row in zip(generated, leads, strict=True):
        if lead.duplicate_of is None:
            continue
        if lead.duplicate_of in lead_ids:
            row.duplicate_of_id = lead_ids[lead.duplicate_of]
            duplicates.append(row)
        else:
            lead.tags = tuple(tag for tag in lead.tags if tag != DUPLICATE_TAG)
            lead.events = [event for event in lead.events if "duplicate_of_index" not in event.data]
    Lead.objects.bulk_update(duplicates, ["duplicate_of"], batch_size=BATCH)
    Lead.objects.filter(pk__in=[row.pk for row in leads]).update(updated_at=F("last_activity_at"))

    events = [
        LeadEvent(**catalogue.event_values(event, row.pk, lead_ids))
        for lead, row in zip(generated, leads, strict=True)
        for event in lead.events
    ]
    LeadEvent.objects.bulk_create(events, batch_size=BATCH)

    tags = {name: Tag.objects.get_or_create(name=name)[0].pk for lead in generated for name in lead.tags}
    TaggedLead.objects.bulk_create(
        [
            TaggedLead(content_object_id=row.pk, tag_id=tags[name])
            for lead, row in zip(generated, leads, strict=True)
            for name in lead.tags
        ],
        batch_size=BATCH,
    )
    return len(leads)
