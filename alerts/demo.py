"""Demo alert rules (idempotent): the everyday set a sales team starts with."""

from datetime import time
from typing import Any

from crm.models import Role

from .models import AlertRule, Trigger

DEMO_RULES: list[dict[str, Any]] = [
    {
        "name": "New leads to the brand managers",
        "name_es": "Leads nuevos a los gerentes de la marca",
        "trigger": Trigger.NEW_LEAD,
        "notify_brand_managers": True,
    },
    {
        "name": "Leads assigned to me",
        "name_es": "Leads que me asignan",
        "trigger": Trigger.ASSIGNED,
        "notify_assignee": True,
        "send_whatsapp": True,
        "quiet_hours_start": time(21, 0),
        "quiet_hours_end": time(8, 0),
    },
    {
        "name": "Unassigned for 30 minutes",
        "name_es": "Sin asignar durante 30 minutos",
        "trigger": Trigger.SLA_UNASSIGNED,
        "threshold": 30,
        "notify_brand_managers": True,
    },
    {
        "name": "Not contacted 4 hours after assignment",
        "name_es": "Sin contactar 4 horas después de asignado",
        "trigger": Trigger.SLA_NOT_CONTACTED,
        "threshold": 4,
        "notify_assignee": True,
        "notify_brand_managers": True,
    },
    {
        "name": "Stale leads (weekly look)",
        "name_es": "Leads estancados (revisión semanal)",
        "trigger": Trigger.STALE,
        "threshold": 7,
        "notify_assignee": True,
        "delivery": AlertRule.Delivery.DIGEST,
    },
    {
        "name": "WordPress source failing",
        "name_es": "Origen de WordPress con fallas",
        "trigger": Trigger.INTEGRATION_FAILED,
        "role": Role.ADMIN,
    },
    {
        "name": "My worked lead marked spam on its website",
        "name_es": "Un lead trabajado fue marcado como spam en su sitio",
        "trigger": Trigger.FLAGGED_UPSTREAM,
        "notify_assignee": True,
    },
]


def seed(stdout: Any, options: dict[str, Any]) -> None:
    """Rules are named in English and Spanish; each reader sees the name in their language."""
    created = 0
    for fields in DEMO_RULES:
        fields = dict(fields)
        rule, was_created = AlertRule.objects.get_or_create(name=fields.pop("name"), defaults=fields)
        if not was_created and not rule.name_es:
            rule.name_es = fields["name_es"]
            rule.save(update_fields=["name_es"])
        created += was_created
    stdout.write(f"Alert rules: {created} created, {len(DEMO_RULES) - created} already there.")
