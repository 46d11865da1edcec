"""Leads searched as people type them (``crm.search``): ``Lead.search_text``, the searched fields folded.

- The column, filled for every lead by ``crm.search.refill_search_text``, with the function new and
  edited leads get theirs from.
- PostgreSQL only: one trigram GIN index on it answers every word of a search. The six trigram indexes
  of the separate fields (``0050_lead_performance_indexes``) are no longer read and go first, so the fill
  does not update them and each new lead writes one trigram index instead of six. The index is built
  after the fill, and the table analysed so that searches are planned with the column's statistics.
"""

from django.db import migrations, models

FIELD_TRIGRAM_INDEXES = {
    "crm_lead_name_trgm": 'UPPER(("contact_name")::text)',
    "crm_lead_company_trgm": 'UPPER(("company")::text)',
    "crm_lead_email_trgm": 'UPPER(("email")::text)',
    "crm_lead_phone_trgm": 'UPPER(("phone")::text)',
    "crm_lead_message_trgm": 'UPPER(("message")::text)',
    "crm_lead_e164_trgm": '(("phone_e164")::text)',
}
SEARCH_INDEX = "crm_lead_search_trgm"


def _postgresql(schema_editor):
    return schema_editor.connection.vendor == "postgresql"


def drop_field_indexes(apps, schema_editor):
    if _postgresql(schema_editor):
        for name in FIELD_TRIGRAM_INDEXES:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create_field_indexes(apps, schema_editor):
    if _postgresql(schema_editor):
        for name, expression in FIELD_TRIGRAM_INDEXES.items():
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "crm_lead" USING gin (({expression}) gin_trgm_ops)'
            )


def fill(apps, schema_editor):
    from crm.search import refill_search_text

    refill_search_text(apps.get_model("crm", "Lead"), schema_editor.connection.alias)


def create_search_index(apps, schema_editor):
    if _postgresql(schema_editor):
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{SEARCH_INDEX}" ON "crm_lead" USING gin ("search_text" gin_trgm_ops)'
        )
        schema_editor.execute('ANALYZE "crm_lead"')


def drop_search_index(apps, schema_editor):
    if _postgresql(schema_editor):
        schema_editor.execute(f'DROP INDEX IF EXISTS "{SEARCH_INDEX}"')


class Migration(migrations.Migration):
    dependencies = [("crm", "0061_lead_large_columns_lz4")]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="search_text",
            field=models.TextField(blank=True, editable=False, verbose_name="search text"),
        ),
        migrations.RunPython(drop_field_indexes, create_field_indexes, elidable=False),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_search_index, drop_search_index, elidable=False),
    ]
