"""PostgreSQL only: the lead board of a brand's manager reads from one index.

- ``crm_lead_brand_status_submitted``: a brand's leads by status, newest first (ties by id), so the board of
  a manager of some brands counts each status (up to ``crm.board.COUNT_CAP``) and reads each open column's
  newest cards from the index alone, instead of walking every status's leads and dropping the other
  brands'. Whoever sees every brand reads ``crm_lead_status_submitted``; a salesperson
  ``crm_lead_assignee_submitted``.
"""

from django.db import migrations

INDEXES = {
    "crm_lead_brand_status_submitted": (
        'ON "crm_lead" ("brand_id", "status_id", "submitted_at" DESC, "id" DESC)'
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
    dependencies = [("crm", "0064_saved_views")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
