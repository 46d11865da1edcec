"""PostgreSQL only: the rollup read from its index alone, the funnel's status changes by target status,
and multi-column statistics so the campaign grouping is planned as the few groups it is."""

from django.db import migrations

CREATE = [
    'CREATE INDEX IF NOT EXISTS "dashboards_personday_cover" ON "dashboards_personday" ("day") INCLUDE '
    '("person_id", "brand_id", "service_id", "source_id", "campaign_id", "status_id", "activity", "contacted", '
    '"first_contacts", "quoted", "won")',
    'CREATE INDEX IF NOT EXISTS "dashboards_event_status_to" ON "crm_leadevent" ("to_value", "created_at") '
    "INCLUDE (\"lead_id\", \"from_value\") WHERE \"kind\" = 'status_changed'",
    'DROP INDEX IF EXISTS "dashboards_event_status_cover"',
    'CREATE STATISTICS IF NOT EXISTS "dashboards_lead_campaign_groups" (ndistinct) ON "brand_id", "campaign_id", '
    '"service_id", "utm_source", "utm_medium", "utm_campaign" FROM "crm_lead"',
    "ANALYZE crm_lead",
]
DROP = [
    'DROP INDEX IF EXISTS "dashboards_personday_cover"',
    'DROP INDEX IF EXISTS "dashboards_event_status_to"',
    'CREATE INDEX IF NOT EXISTS "dashboards_event_status_cover" ON "crm_leadevent" ("created_at") INCLUDE '
    "(\"lead_id\", \"to_value\") WHERE \"kind\" IN ('created', 'status_changed')",
    'DROP STATISTICS IF EXISTS "dashboards_lead_campaign_groups"',
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0003_rollup_and_business_hours")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
