"""PostgreSQL only: covering indexes for the follow-up views at volume.

- ``crm_followup_open_assignee_cover``: a person's open follow-ups by due time, with their lead, so My day
  ranks a person's overdue, today's and tomorrow's tasks from the index alone.
- ``crm_lead_brand_next_action``: leads with a next action by brand and due time, with their assignee, so a
  manager's "overdue follow-ups per person" counts from the index alone.
- ``crm_lead_waiting_contact``: a person's leads nobody has contacted yet, newest first, so My day's "new leads
  not contacted yet" reads its first rows and its total from the index.
"""

from django.db import migrations

INDEXES = {
    "crm_followup_open_assignee_cover": (
        'ON "crm_followup" ("assignee_id", "due_at") INCLUDE ("lead_id", "id") WHERE "state" = \'open\''
    ),
    "crm_lead_brand_next_action": (
        'ON "crm_lead" ("brand_id", "next_action_at") INCLUDE ("id", "assignee_id") '
        'WHERE "next_action_at" IS NOT NULL'
    ),
    "crm_lead_waiting_contact": (
        'ON "crm_lead" ("assignee_id", "submitted_at" DESC, "id" DESC) INCLUDE ("status_id") '
        'WHERE "first_contacted_at" IS NULL AND "assignee_id" IS NOT NULL'
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
    dependencies = [("crm", "0059_seed_contact_templates")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
