"""``(brand, received_at DESC, id DESC)`` for a manager's listing (PostgreSQL only; nothing happens on SQLite).

The listing orders by received time with the id as tiebreak. With the id in the index, a manager's
page (any depth, either direction) is read from the index alone instead of sorting their brand's leads.
"""

from django.db import migrations

BTREE_INDEXES = {
    "crm_lead_brand_received_id": '("brand_id", "received_at" DESC, "id" DESC)',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns in BTREE_INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "crm_lead" {columns}')


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in BTREE_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("crm", "0050_lead_performance_indexes")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
