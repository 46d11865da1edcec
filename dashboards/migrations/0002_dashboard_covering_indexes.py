"""Covering indexes for the dashboard figures (PostgreSQL only; nothing happens on SQLite).

Every dashboard query reads the leads received, or the events written, in a period and groups them
by a handful of columns. With the period's column first and those columns in ``INCLUDE``,
PostgreSQL answers from the index alone (an index-only scan) instead of visiting a heap page per row.
"""

from django.db import migrations

INDEXES = {
    "dashboards_lead_received_cover": (
        "crm_lead",
        '("received_at") INCLUDE ("id", "brand_id", "service_id", "source_id", "campaign_id", "status_id", '
        '"assignee_id", "first_contacted_at", "assigned_at", "status_changed_at", "last_activity_at")',
    ),
    "dashboards_event_created_cover": (
        "crm_leadevent",
        '("created_at") INCLUDE ("id", "lead_id", "actor_id", "kind", "to_value")',
    ),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, columns) in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" {columns}')


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0001_initial"),
        ("crm", "0050_lead_performance_indexes"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
