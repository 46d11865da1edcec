"""PostgreSQL only: the team table's leads of a period, read assignee by assignee.

Keyed by assignee and submission time, it carries what the team's lead figures read (assignment,
first contact, receipt, status, last activity) and the dimensions the filters and a manager's scope
test, so ``team._lead_rows`` reads the period's leads from this index alone and already grouped by
assignee: the percentiles of the first-response times need no sort of the period's leads first.
"""

from django.db import migrations

NAME = "dashboards_lead_assignee_submitted_cover"
CREATE = (
    f'CREATE INDEX IF NOT EXISTS "{NAME}" ON "crm_lead" ("assignee_id", "submitted_at") INCLUDE '
    '("assigned_at", "first_contacted_at", "received_at", "status_id", "last_activity_at", "brand_id", '
    '"service_id", "source_id", "campaign_id") WHERE "assignee_id" IS NOT NULL'
)
DROP = f'DROP INDEX IF EXISTS "{NAME}"'


def _run(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0007_lead_assignee_cover_submission_times")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
