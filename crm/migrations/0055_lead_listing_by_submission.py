"""Listings and demand figures follow when the person submitted (``submitted_at``), not when the CRM got
the lead: the indexes that served ``received_at`` orderings serve ``submitted_at`` instead (the
PostgreSQL-only ones of 0050 and 0051 too).
"""

from django.db import migrations, models

POSTGRES_INDEXES = {
    "crm_lead_assignee_received": (
        "crm_lead_assignee_submitted_id",
        '("assignee_id", "received_at" DESC, "id" DESC)',
        '("assignee_id", "submitted_at" DESC, "id" DESC)',
    ),
    "crm_lead_brand_received_id": (
        "crm_lead_brand_submitted_id",
        '("brand_id", "received_at" DESC, "id" DESC)',
        '("brand_id", "submitted_at" DESC, "id" DESC)',
    ),
}


def by_submission(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for old, (new, _old_columns, columns) in POSTGRES_INDEXES.items():
        schema_editor.execute(f'DROP INDEX IF EXISTS "{old}"')
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{new}" ON "crm_lead" {columns}')


def by_receipt(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for old, (new, old_columns, _columns) in POSTGRES_INDEXES.items():
        schema_editor.execute(f'DROP INDEX IF EXISTS "{new}"')
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{old}" ON "crm_lead" {old_columns}')


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0054_event_actor_index_for_people_only"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="lead",
            options={
                "ordering": ["-submitted_at", "-pk"],
                "permissions": [
                    ("assign_lead", "Can assign leads"),
                    ("export_lead", "Can export leads"),
                    ("merge_lead", "Can merge leads"),
                ],
                "verbose_name": "lead",
                "verbose_name_plural": "leads",
            },
        ),
        migrations.RemoveIndex(
            model_name="lead",
            name="crm_lead_received",
        ),
        migrations.RemoveIndex(
            model_name="lead",
            name="crm_lead_assignee_status",
        ),
        migrations.RemoveIndex(
            model_name="lead",
            name="crm_lead_status_received",
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["-submitted_at", "-id"], name="crm_lead_submitted"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                fields=["assignee", "status", "-submitted_at"], name="crm_lead_assignee_submitted"
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["status", "-submitted_at"], name="crm_lead_status_submitted"),
        ),
        migrations.RunPython(by_submission, by_receipt, elidable=False),
    ]
