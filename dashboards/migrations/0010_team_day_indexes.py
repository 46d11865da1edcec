"""PostgreSQL only: what a manager's "team today" panel counts, from indexes alone.

- ``dashboards_lead_open_unassigned``: leads nobody holds, by brand and status.
- ``dashboards_lead_waiting_contact``: assigned leads not contacted yet, by brand and assignment time, with
  what the SLA rule reads (assignee, status, submission and receipt times).
"""

from django.db import migrations

INDEXES = {
    "dashboards_lead_open_unassigned": 'ON "crm_lead" ("brand_id", "status_id") WHERE "assignee_id" IS NULL',
    "dashboards_lead_waiting_contact": (
        'ON "crm_lead" ("brand_id", "assigned_at") INCLUDE ("id", "assignee_id", "status_id", "submitted_at", '
        '"received_at") WHERE "first_contacted_at" IS NULL AND "assigned_at" IS NOT NULL'
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" {definition}')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0009_person_brand_day_rollup"), ("crm", "0057_follow_ups")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
