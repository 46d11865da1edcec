"""Demo alert rules (idempotent): the everyday set a sales team starts with."""

from datetime import time

from crm.models import Role

from .models import AlertRule, Trigger

DEMO_RULES = [
    {"name": "New leads to the brand managers", "trigger": Trigger.NEW_LEAD, "notify_brand_managers": True},
    {
        "name": "Leads assigned to me",
        "trigger": Trigger.ASSIGNED,
        "notify_assignee": True,
        "send_whatsapp": True,
        "quiet_hours_start": time(21, 0),
        "quiet_hours_end": time(8, 0),
    },
    {
        "name": "Unassigned for 30 minutes",
        "trigger": Trigger.SLA_UNASSIGNED,
        "threshold": 30,
        "notify_brand_managers": True,
    },
    {
        "name": "Not contacted 4 hours after assignment",
        "trigger": Trigger.SLA_NOT_CONTACTED,
        "threshold": 4,
        "notify_assignee": True,
        "notify_brand_managers": True,
    },
    {
        "name": "Stale leads (weekly look)",
        "trigger": Trigger.STALE,
        "threshold": 7,
        "notify_assignee": True,
        "delivery": AlertRule.Delivery.DIGEST,
    },
    {"name": "WordPress source failing", "trigger": Trigger.INTEGRATION_FAILED, "role": Role.ADMIN},
    {
        "name": "My worked lead marked spam on its website",
        "trigger": Trigger.FLAGGED_UPSTREAM,
        "notify_assignee": True,
    },
]


def seed(stdout, options):
    created = 0
    for fields in DEMO_RULES:
        fields = dict(fields)
        _rule, was_created = AlertRule.objects.get_or_create(name=fields.pop("name"), defaults=fields)
        created += was_created
    stdout.write(f"Alert rules: {created} created, {len(DEMO_RULES) - created} already there.")
