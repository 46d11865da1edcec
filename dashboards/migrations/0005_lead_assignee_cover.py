"""An index of each person's leads for their admin home (``team.personal_figures``).

Keyed by assignee and assignment time, it carries the status and the contact and activity times, so
the home's open leads by status, its first overdue leads (oldest assignment first) and its figures of
the last 30 days are each read from one stretch of this index (index-only on PostgreSQL) instead of
the person's rows. On SQLite the carried columns are trailing key columns (no ``INCLUDE``).
"""

from django.db import migrations

NAME = "dashboards_lead_assignee_cover"
COLUMNS = {
    "postgresql": '("assignee_id", "assigned_at", "id") INCLUDE ("status_id", "first_contacted_at", "last_activity_at")',
    "sqlite": '("assignee_id", "assigned_at", "id", "status_id", "first_contacted_at", "last_activity_at")',
}


def create_index(apps, schema_editor):
    columns = COLUMNS.get(schema_editor.connection.vendor)
    if columns:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{NAME}" ON "crm_lead" {columns} WHERE "assignee_id" IS NOT NULL'
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor in COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0004_rollup_and_funnel_indexes")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
