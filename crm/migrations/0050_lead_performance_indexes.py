"""Indexes the lead listing needs at a million rows (PostgreSQL only; nothing happens on SQLite).

- Trigram GIN indexes for the listing search, which ORs ``icontains`` over name, company, email, phone
  and message (Django writes ``UPPER(col::text) LIKE UPPER('%…%')``) and ``contains`` over the E.164
  phone: every branch of the OR has an index, so PostgreSQL combines them in a bitmap instead of reading
  the whole table.
- ``(assignee, received_at DESC, id DESC)``: an employee's listing ("my leads") in received order
  without sorting all of their leads.
"""

from django.db import migrations

TRIGRAM_COLUMNS = {
    "crm_lead_name_trgm": 'UPPER(("contact_name")::text)',
    "crm_lead_company_trgm": 'UPPER(("company")::text)',
    "crm_lead_email_trgm": 'UPPER(("email")::text)',
    "crm_lead_phone_trgm": 'UPPER(("phone")::text)',
    "crm_lead_message_trgm": 'UPPER(("message")::text)',
    "crm_lead_e164_trgm": '(("phone_e164")::text)',
}
BTREE_INDEXES = {
    "crm_lead_assignee_received": '("assignee_id", "received_at" DESC, "id" DESC)',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in TRIGRAM_COLUMNS.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "crm_lead" USING gin (({expression}) gin_trgm_ops)')
    for name, columns in BTREE_INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "crm_lead" {columns}')


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in [*TRIGRAM_COLUMNS, *BTREE_INDEXES]:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_seed_services_and_rules")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
