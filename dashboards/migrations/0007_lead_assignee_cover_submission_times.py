"""The person's-leads index also carries the submission and receipt times.

A backfilled lead (submitted long before it was received) never counts as overdue, so the home's
overdue counts read both times; carried in the index, those counts stay index-only on PostgreSQL.
"""

from django.db import migrations

NAME = "dashboards_lead_assignee_cover"
KEY = '"assignee_id", "assigned_at", "id"'
CARRIED = {
    "before": '"status_id", "first_contacted_at", "last_activity_at"',
    "after": '"status_id", "first_contacted_at", "last_activity_at", "submitted_at", "received_at"',
}


def _rebuild(schema_editor, carried):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        columns = f"({KEY}) INCLUDE ({carried})"
    elif vendor == "sqlite":
        columns = f"({KEY}, {carried})"
    else:
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')
    schema_editor.execute(f'CREATE INDEX "{NAME}" ON "crm_lead" {columns} WHERE "assignee_id" IS NOT NULL')


def carry_submission_times(apps, schema_editor):
    _rebuild(schema_editor, CARRIED["after"])


def drop_submission_times(apps, schema_editor):
    _rebuild(schema_editor, CARRIED["before"])


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0006_merge_issue_14_branches")]

    operations = [migrations.RunPython(carry_submission_times, drop_submission_times, elidable=False)]
